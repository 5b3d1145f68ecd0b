// One slab of the PCB fast path: a WebAssembly memory (SharedArena) with its own kernel instances on
// this thread and its worker threads, a parameter block per thread, the stored inputs of the window
// of positions it holds, and typed access to the kernels' parameter blocks (the C `Params` struct,
// whose field offsets the module reports, see kernels.ts).

import { expTable } from "../exp32.js";
import type { KernelJob } from "./kernel-calls.js";
import {
  ECACHE_ENTRIES,
  instantiateKernels,
  type KernelLayout,
  type KernelName,
  type ParamField,
  type PcbKernels,
  readLayout,
} from "./kernels.js";
import { esize, type FastFormat, type SlabPlan } from "./layout.js";
import { SharedArena } from "./memory.js";
import { KernelThreads } from "./threads.js";

/** The kernels' codes of the formats (Params.fmt and Params.outFmt in pcb.c). */
export const FORMAT_CODE: Record<FastFormat, number> = { BF16: 0, F32: 1, F16: 2 };

/** Byte offsets inside the C `Win` struct. */
const WIN = { a: 0, b: 4, sureBelow: 8, below: 12, le: 16, coll: 20, cap: 24, fill: 28 } as const;

/** A window's counts after a pass (values: the collection, undefined when it overflowed). */
export interface WindowCounts {
  readonly below: number;
  readonly inWin: number;
  readonly fill: number;
  readonly values?: Float32Array;
}

/** Per-task magnitude statistics as the kernels take them. */
export interface KernelMagnitude {
  readonly lo: Float32Array;
  readonly hi: Float32Array;
  readonly min: Float32Array;
  readonly range: Float32Array;
}

export class Slab {
  readonly arena: SharedArena;
  readonly kernels: PcbKernels;
  readonly layout: KernelLayout;
  readonly threads: KernelThreads;
  /** One parameter block per thread (the first runs on this thread). */
  readonly params: number[] = [];
  private readonly scratch: number[] = [];
  private readonly ecache: number[] = [];
  private readonly expOff: number;
  private readonly expLen: number;
  private readonly shufOff: number;
  /** Input buffers (base, then the task models), each `window` positions plus SIMD padding. */
  private readonly bufs: number[];
  /** Positions [w0, w1) currently in the input buffers (w1 = w0 when none). */
  private w0 = 0;
  private w1 = 0;
  private readonly grown = new Map<string, { off: number; bytes: number }>();

  constructor(
    readonly plan: SlabPlan,
    readonly n: number,
    readonly format: FastFormat,
    threads: number,
  ) {
    const es = esize(format);
    const inputBytes = (n + 1) * (plan.window + 8) * es;
    this.arena = new SharedArena(inputBytes + (8 << 20));
    this.kernels = instantiateKernels(this.arena.memory, this.arena.stackTop(0));
    this.layout = readLayout(this.kernels, this.arena.memory, this.arena.alloc(256));
    const used = Math.max(1, Math.min(16, Math.floor(threads), Math.ceil((plan.p1 - plan.p0) / 65536)));
    this.threads = new KernelThreads(this.kernels, this.arena, used, {
      k0: this.layout.field.k0,
      k1: this.layout.field.k1,
    });
    // Swizzle indices that pack the 32-bit lanes selected by a 4-bit mask to the front.
    this.shufOff = this.arena.alloc(256);
    const sb = this.arena.u8(this.shufOff, 256);
    sb.fill(0x80);
    for (let m = 0; m < 16; m++) {
      let o = 0;
      for (let j = 0; j < 4; j++) {
        if (!((m >> j) & 1)) continue;
        for (let b = 0; b < 4; b++) sb[16 * m + 4 * o + b] = 4 * j + b;
        o++;
      }
    }
    const table = expTable(n);
    this.expLen = table.length;
    this.expOff = this.arena.alloc(table.length * 8);
    this.arena.f64(this.expOff, table.length).set(table);
    for (let t = 0; t < this.threads.size; t++) {
      this.params.push(this.arena.alloc(this.layout.paramsSize));
      this.scratch.push(this.arena.alloc(this.kernels.scratch_bytes(n)));
      this.ecache.push(this.arena.alloc(8 * ECACHE_ENTRIES * n));
    }
    // Inputs padded to whole SIMD groups (the kernels read up to 3 elements past a range's end).
    this.bufs = Array.from({ length: n + 1 }, () => this.arena.alloc((plan.window + 8) * es));
  }

  get p0(): number {
    return this.plan.p0;
  }
  get p1(): number {
    return this.plan.p1;
  }
  get resident(): boolean {
    return this.plan.resident;
  }

  /** The windows of positions a pass over this slab visits, in order. */
  windows(): [number, number][] {
    const out: [number, number][] = [];
    for (let a = this.p0; a < this.p1; a += this.plan.window)
      out.push([a, Math.min(this.p1, a + this.plan.window)]);
    return out;
  }

  /** Whether positions [a, b) are in the input buffers. */
  holds(a: number, b: number): boolean {
    return a >= this.w0 && b <= this.w1;
  }

  /** Marks positions [a, b) (at most `window`) as the buffers' content, to be filled through `view`. */
  setWindow(a: number, b: number): void {
    this.w0 = a;
    this.w1 = b;
  }

  /** Stored bytes of input `slot` at positions [k, k + len) of the current window. */
  view(slot: number, k: number, len: number): Uint8Array {
    const es = esize(this.format);
    return this.arena.u8(this.bufs[slot]! + (k - this.w0) * es, len * es);
  }

  /** Input pointers for the kernels: the buffer shifted so that position k is at in[s] + k·es (mod 2^32). */
  inputPointers(): number[] {
    const es = esize(this.format);
    return this.bufs.map((b) => (b - this.w0 * es) >>> 0);
  }

  /** Bytes at `key`, reused across calls and grown (by a fresh allocation) when too small. */
  buffer(key: string, bytes: number): number {
    const b = this.grown.get(key);
    if (b && b.bytes >= bytes) return b.off;
    const size = Math.max(bytes, 16);
    const off = this.arena.alloc(size);
    this.grown.set(key, { off, bytes: size });
    return off;
  }

  // -- parameter blocks ------------------------------------------------------------------------

  setU32(p: number, f: ParamField, v: number, i = 0): void {
    this.arena.view().setUint32(p + this.layout.field[f] + 4 * i, v >>> 0, true);
  }
  setF32(p: number, f: ParamField, v: number, i = 0): void {
    this.arena.view().setFloat32(p + this.layout.field[f] + 4 * i, v, true);
  }
  getU32(p: number, f: ParamField, i = 0): number {
    return this.arena.view().getUint32(p + this.layout.field[f] + 4 * i, true);
  }
  getF32(p: number, f: ParamField, i = 0): number {
    return this.arena.view().getFloat32(p + this.layout.field[f] + 4 * i, true);
  }

  /** Common fields of block `p`: inputs, positions, this thread's scratch and caches, magnitude statistics. */
  setBase(
    p: number,
    t: number,
    inputs: readonly number[],
    k0: number,
    k1: number,
    mag?: KernelMagnitude,
    zeroRangeOn = false,
  ): void {
    this.setU32(p, "fmt", FORMAT_CODE[this.format]);
    this.setU32(p, "n", this.n);
    this.setU32(p, "k0", k0);
    this.setU32(p, "k1", k1);
    inputs.forEach((a, s) => {
      this.setU32(p, "in", a, s);
    });
    this.setU32(p, "scratch", this.scratch[t]!);
    this.setF32(p, "nf", this.n);
    this.setU32(p, "expTab", this.expOff);
    this.setU32(p, "shuf", this.shufOff);
    this.setU32(p, "ecache", this.ecache[t]!);
    this.arena.view().setFloat64(p + this.layout.field.expLen, this.expLen, true);
    if (!mag) return;
    for (let i = 0; i < this.n; i++) {
      this.setF32(p, "lo", mag.lo[i]!, i);
      this.setF32(p, "hi", mag.hi[i]!, i);
      this.setF32(p, "mn", mag.min[i]!, i);
      this.setF32(p, "rg", mag.range[i]!, i);
      this.setU32(p, "zr", zeroRangeOn && mag.range[i] === 0 ? 1 : 0, i);
    }
  }

  /** Clears a block's pass outputs (non-finite flag, maximum bits). */
  resetFlags(p: number): void {
    this.setU32(p, "bad", 0);
    this.setU32(p, "absMaxBits", 0);
  }

  /** Empties the intra-factor caches (they hold values for one set of magnitude statistics). */
  clearCaches(): void {
    // No |T| has the bits 0xffffffff.
    for (const c of this.ecache) this.arena.u32(c, 2 * ECACHE_ENTRIES * this.n).fill(0xffffffff);
  }

  private winAddr(p: number, w: number): number {
    return p + this.layout.field.win + w * this.layout.winSize;
  }

  /** Window `w` of block `p`: [a, b], the proof bound, and a collection of `cap` values at `coll`. */
  setWin(
    p: number,
    w: number,
    win: { a: number; b: number; sureBelow?: number },
    coll: number,
    cap: number,
  ): void {
    const dv = this.arena.view();
    const at = this.winAddr(p, w);
    dv.setFloat32(at + WIN.a, win.a, true);
    dv.setFloat32(at + WIN.b, win.b, true);
    dv.setFloat32(at + WIN.sureBelow, win.sureBelow ?? Number.NEGATIVE_INFINITY, true);
    dv.setUint32(at + WIN.below, 0, true);
    dv.setUint32(at + WIN.le, 0, true);
    dv.setUint32(at + WIN.coll, coll, true);
    dv.setUint32(at + WIN.cap, cap, true);
    dv.setUint32(at + WIN.fill, 0, true);
  }

  /** Window `w`'s counts in block `p` after a pass. */
  readWin(p: number, w: number): WindowCounts {
    const dv = this.arena.view();
    const at = this.winAddr(p, w);
    const below = dv.getUint32(at + WIN.below, true);
    const inWin = dv.getUint32(at + WIN.le, true) - below;
    const cap = dv.getUint32(at + WIN.cap, true);
    const fill = dv.getUint32(at + WIN.fill, true);
    const coll = dv.getUint32(at + WIN.coll, true);
    const values =
      cap === 0 ? new Float32Array(0) : fill <= cap ? this.arena.f32(coll, fill).slice() : undefined;
    return { below, inWin, fill, values };
  }

  /** Runs `kernel` with block t over `ranges[t]` on this slab's threads (one job per range). */
  run(
    kernel: KernelName,
    ranges: readonly [number, number][],
    blocks: readonly number[] = this.params,
  ): Promise<void> {
    const jobs: KernelJob[] = ranges.map(([k0, k1], t) => ({ params: blocks[t]!, k0, k1 }));
    return this.threads.run(kernel, jobs);
  }

  /** Thread ranges of equal length (multiples of 4) over [a, b). */
  equalRanges(a: number, b: number): [number, number][] {
    const T = this.params.length;
    const out: [number, number][] = [];
    for (let t = 0; t < T; t++) {
      const k0 = t === 0 ? a : a + Math.floor(((b - a) * t) / T / 4) * 4;
      const k1 = t === T - 1 ? b : a + Math.floor(((b - a) * (t + 1)) / T / 4) * 4;
      out.push([k0, k1]);
    }
    return out;
  }

  /** Exact scores of every task at positions [k0, k1) of `inputs` (n rows of k1 − k0), on this thread. */
  emitScores(
    inputs: readonly number[],
    k0: number,
    k1: number,
    mag: KernelMagnitude,
    zeroRangeOn: boolean,
  ): Float32Array[] {
    const p = this.params[0]!;
    this.setBase(p, 0, inputs, k0, k1, mag, zeroRangeOn);
    const len = k1 - k0;
    const out = this.buffer("emit", this.n * len * 4);
    this.kernels.score_emit(p, out);
    return Array.from({ length: this.n }, (_, i) => this.arena.f32(out + 4 * i * len, len).slice());
  }

  close(): Promise<void> {
    return this.threads.close();
  }
}
