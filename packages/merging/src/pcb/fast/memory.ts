// One shared WebAssembly memory for the PCB fast path, handed out by a bump allocator. The first
// STACK_AREA bytes hold the per-thread C stacks (the kernels need a few dozen bytes each).

import { FastGlobalUnsupported } from "../../method.js";
import { PcbError } from "../options.js";
import { Wasm, type WasmMemory } from "./wasm-api.js";

const PAGE = 65536;
/** wasm32 memories hold at most 4 GiB. */
export const MAX_MEMORY_BYTES = 65536 * PAGE;
export const STACK_BYTES = 4096;
const STACK_AREA = 16 * STACK_BYTES;

export class SharedArena {
  readonly memory: WasmMemory;
  private top = STACK_AREA;

  /** Reserves address space up to 4 GiB; `initialBytes` are committed at once. */
  constructor(initialBytes: number) {
    const pages = Math.ceil(Math.max(initialBytes, STACK_AREA + PAGE) / PAGE);
    this.memory = new Wasm.Memory({ initial: pages, maximum: 65536, shared: true });
  }

  /** Top of thread `t`'s C stack. */
  stackTop(t: number): number {
    if (t >= STACK_AREA / STACK_BYTES)
      throw new PcbError(`pcb fast path: at most ${STACK_AREA / STACK_BYTES} threads`);
    return (t + 1) * STACK_BYTES;
  }

  /**
   * `bytes` zeroed bytes aligned to 16. Past 4 GiB, or when the system refuses to grow the memory, it
   * throws FastGlobalUnsupported: the caller then takes the general path.
   */
  alloc(bytes: number): number {
    const off = Math.ceil(this.top / 16) * 16;
    const end = off + Math.ceil(bytes / 16) * 16;
    if (end > MAX_MEMORY_BYTES) {
      throw new FastGlobalUnsupported(
        "pcb fast path: needs more than the 4 GiB a WebAssembly memory can hold",
      );
    }
    const have = this.memory.buffer.byteLength;
    try {
      if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    } catch (e) {
      throw new FastGlobalUnsupported(`pcb fast path: cannot grow its memory to ${end} bytes (${String(e)})`);
    }
    this.top = end;
    return off;
  }

  u8(off: number, len: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, off, len);
  }
  u16(off: number, len: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, off, len);
  }
  u32(off: number, len: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, off, len);
  }
  f32(off: number, len: number): Float32Array {
    return new Float32Array(this.memory.buffer, off, len);
  }
  f64(off: number, len: number): Float64Array {
    return new Float64Array(this.memory.buffer, off, len);
  }
  view(): DataView {
    return new DataView(this.memory.buffer);
  }
}
