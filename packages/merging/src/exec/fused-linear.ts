// The fused fast path of dense linear merges (task_arithmetic, and dare_linear / della_linear at density
// 1): θ₀ + scale · Σ w_i (θ_i − θ₀) computed straight from the stored 16/32-bit inputs into the encoded
// output, one cache-sized chunk at a time (tensor-core's `weightedDeltaSum`). No input is ever decoded to
// a whole-tensor float32 array, which saves the decode passes over memory and most of the peak memory.
//
// Every element goes through the same float32 operations, in the same order, as the unfused path
// (read → cast to the compute dtype → `denseLinearMerge` → cast → encode), so the bytes are identical.

import { type StoredFloats, weightedDeltaSum } from "@x/tensor-core";
import type { MergeDType } from "../config/index.js";
import { castToComputeDType } from "../io/cast.js";
import type { TensorSource } from "../io/types.js";
import type { DenseLinearPlan } from "../method.js";

/** Stored dtypes the fused path reads and writes. */
export type LinearDType = "BF16" | "F16" | "F32";

/** Bytes per element of a fused-path dtype. */
export const linearBytes = (dtype: LinearDType): number => (dtype === "F32" ? 4 : 2);

/** One input tensor as stored: its dtype and exactly numel × element size bytes (4-byte aligned). */
export interface RawTensor {
  readonly dtype: LinearDType;
  readonly bytes: Uint8Array;
}

/** A stored tensor's bytes as the typed view tensor-core's fused kernel reads and writes. */
function stored(t: RawTensor): StoredFloats {
  const { bytes } = t;
  if (t.dtype === "F32")
    return { dtype: "F32", data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  return { dtype: t.dtype, data: new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) };
}

/**
 * θ₀ + scale · Σ w_i (θ_i − θ₀) over the stored inputs, written encoded as `outDtype` into `out`
 * (numel × element size bytes), through tensor-core's `weightedDeltaSum` (WebAssembly SIMD when
 * available). `computeDtype` (mergekit's `dtype`) rounds the inputs and the result as the unfused path
 * does. F32 inputs are not modified (each chunk is copied before rounding).
 */
export function fusedLinearMerge(
  base: RawTensor,
  models: readonly RawTensor[],
  plan: DenseLinearPlan,
  computeDtype: MergeDType | undefined,
  outDtype: LinearDType,
  out: Uint8Array,
): Uint8Array {
  // Rounding to float32 is the identity: no hook, so the kernels' fastest paths apply.
  const round =
    computeDtype && computeDtype !== "F32"
      ? (chunk: Float32Array) => void castToComputeDType(chunk, computeDtype)
      : undefined;
  weightedDeltaSum(
    stored(base),
    models.map(stored),
    plan.weights,
    plan.scale,
    stored({ dtype: outDtype, bytes: out }),
    {
      round,
    },
  );
  return out;
}

/** One output tensor that takes the fused linear path. */
export interface FastLinearJob {
  readonly index: number;
  /** The output tensor's name. */
  readonly name: string;
  readonly numel: number;
  /** The base first, then the merged models. */
  readonly sources: readonly TensorSource[];
  /** Each source's stored name of the tensor (slices read other layers' names). */
  readonly names: readonly string[];
  /** Stored dtype of each source's copy of the tensor. */
  readonly dtypes: readonly LinearDType[];
  readonly plan: DenseLinearPlan;
  readonly outDtype: LinearDType;
  readonly computeDtype: MergeDType | undefined;
}
