// One element range of a fused dense-linear piece, as a helper thread computes it from views into shared
// buffers (fused-helpers.ts posts ranges, fused-worker.ts runs them; both import this module).

import type { MergeConfig } from "../config/index.js";
import { fusedLinearMerge, type LinearDType, linearBytes, type RawTensor } from "./fused-linear.js";

/** A range of one piece for a helper: views into shared buffers, by buffer and byte offset. */
export interface FusedRangeTask {
  readonly inputs: readonly { dtype: LinearDType; buffer: SharedArrayBuffer; byteOffset: number }[];
  readonly out: { dtype: LinearDType; buffer: SharedArrayBuffer; byteOffset: number };
  readonly count: number;
  readonly weights: Float64Array;
  readonly scale: number;
  readonly computeDtype: MergeConfig["dtype"];
}

/** Runs the fused kernel on one element range of stored inputs (views built from shared buffers). */
export function runFusedRange(task: FusedRangeTask): void {
  const view = (t: { dtype: LinearDType; buffer: SharedArrayBuffer; byteOffset: number }): RawTensor => ({
    dtype: t.dtype,
    bytes: new Uint8Array(t.buffer, t.byteOffset, task.count * linearBytes(t.dtype)),
  });
  const [base, ...models] = task.inputs.map(view);
  fusedLinearMerge(
    base!,
    models,
    { weights: task.weights, scale: task.scale },
    task.computeDtype,
    task.out.dtype,
    view(task.out).bytes,
  );
}
