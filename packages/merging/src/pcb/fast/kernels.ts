// The PCB WebAssembly SIMD kernels (wasm/pcb.c): compiled once per process, instantiated per thread on one
// shared memory. The C code reports its own struct layout (`layout`), so the parameter block offsets used
// here always match the compiled module.

import { PCB_WASM_BASE64 } from "./pcb-wasm.js";
import { Wasm, type WasmGlobal, type WasmMemory, type WasmModule } from "./wasm-api.js";

export interface PcbKernels {
  layout(ptr: number): number;
  mag_pass(params: number): void;
  score_pass(params: number): void;
  score_emit(params: number, out: number): void;
  merge_pass(params: number): void;
  /** Scratch bytes per thread for `n` tasks. */
  scratch_bytes(n: number): number;
  __stack_pointer: WasmGlobal;
}

export type KernelName = "mag_pass" | "score_pass" | "merge_pass";

/** Fields of the C `Params` struct, in the order `layout` reports their offsets. */
const FIELDS = [
  "fmt",
  "n",
  "k0",
  "k1",
  "in",
  "scratch",
  "bad",
  "absMaxBits",
  "lo",
  "hi",
  "mn",
  "rg",
  "zr",
  "nf",
  "expTab",
  "expLen",
  "win",
  "candPos",
  "candVal",
  "candCap",
  "candCount",
  "maxB",
  "thr",
  "denom",
  "drop",
  "seg",
  "nseg",
  "out",
  "outFmt",
  "cursor",
  "shuf",
  "ecache",
] as const;
export type ParamField = (typeof FIELDS)[number];

/** Tasks the kernels take at most (MAXT in pcb.c). */
export const MAX_TASKS = 16;
/** Entries of each task's intra-factor cache (ECACHE in pcb.c): per thread 8 bytes × this × tasks. */
export const ECACHE_ENTRIES = 4096;

/** Byte offsets of the parameter block, window and segment structs. */
export interface KernelLayout {
  readonly field: Readonly<Record<ParamField, number>>;
  readonly paramsSize: number;
  readonly winSize: number;
  readonly segSize: number;
  readonly segLambda: number;
  readonly segLi: number;
}

let compiled: WasmModule | undefined;

export function pcbModule(): WasmModule {
  compiled ??= new Wasm.Module(Buffer.from(PCB_WASM_BASE64, "base64"));
  return compiled;
}

/** An instance on `memory` whose C stack (a few dozen bytes) grows down from `stackTop`. */
export function instantiateKernels(memory: WasmMemory, stackTop: number, module = pcbModule()): PcbKernels {
  const inst = new Wasm.Instance(module, { env: { memory, exp: Math.exp, tanh: Math.tanh } });
  const k = inst.exports as unknown as PcbKernels;
  k.__stack_pointer.value = stackTop;
  return k;
}

/** Reads the struct layout from the module, using 256 scratch bytes at `scratch`. */
export function readLayout(k: PcbKernels, memory: WasmMemory, scratch: number): KernelLayout {
  const count = k.layout(scratch);
  const o = new Uint32Array(memory.buffer, scratch, count);
  if (count !== FIELDS.length + 5) throw new Error(`pcb kernels: layout reports ${count} values`);
  const field = {} as Record<ParamField, number>;
  FIELDS.forEach((f, j) => {
    field[f] = o[j]!;
  });
  const j = FIELDS.length;
  return {
    field,
    paramsSize: o[j]!,
    winSize: o[j + 1]!,
    segSize: o[j + 2]!,
    segLambda: o[j + 3]!,
    segLi: o[j + 4]!,
  };
}
