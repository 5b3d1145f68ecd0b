// A kernel pass cut into calls, as every thread runs it (threads.ts on this thread, worker.ts on the
// others): in its own module so that the two do not import each other.

import type { KernelName, PcbKernels } from "./kernels.js";

/** One thread's share of a pass: its parameter block and the range of positions it covers. */
export interface KernelJob {
  readonly params: number;
  readonly k0: number;
  readonly k1: number;
}

/**
 * Positions per kernel call. A pass is cut into many calls because WebAssembly code only moves from
 * V8's baseline compiler to the optimizing one between calls (there is no on-stack replacement):
 * one call per pass would run entirely in baseline code, 2× slower here. Multiples of 4 (SIMD groups).
 */
export const CALL_POSITIONS = 1 << 18;

/**
 * Runs `kernel` over [k0, k1) in calls of CALL_POSITIONS, writing each call's bounds into the
 * parameter block (the kernels accumulate across calls).
 */
export function runInCalls(
  kernels: PcbKernels,
  kernel: KernelName,
  memory: { buffer: SharedArrayBuffer },
  job: KernelJob,
  k0Offset: number,
  k1Offset: number,
): void {
  const view = new DataView(memory.buffer);
  for (let a = job.k0; a < job.k1; a += CALL_POSITIONS) {
    view.setUint32(job.params + k0Offset, a, true);
    view.setUint32(job.params + k1Offset, Math.min(job.k1, a + CALL_POSITIONS), true);
    kernels[kernel](job.params);
  }
}
