// tf.Tensor <-> the project's Tensor. tfjs holds only float32 / int32 / bool, so: every float dtype
// (F64, F16, BF16, FP8) becomes float32 (F16/BF16/FP8 exactly, F64 rounded to nearest); integer dtypes
// become int32 (I64/U64/U32 values outside the int32 range are rejected rather than wrapped); BOOL is bool.
import * as tf from "@tensorflow/tfjs-core";
import type { DType } from "../dtype.js";
import { Tensor } from "../tensor.js";
import { TfBridgeError } from "./errors.js";

const SMALL_INTS: ReadonlySet<DType> = new Set<DType>(["I32", "I16", "I8", "U8", "U16"]);
const WIDE_INTS: ReadonlySet<DType> = new Set<DType>(["I64", "U64", "U32"]);

/** A new tf.Tensor holding a copy of `t` (see the conversion rules above). */
export function tensorToTf(t: Tensor): tf.Tensor {
  const shape = [...t.shape];
  if (t.dtype === "BOOL") {
    return tf.tensor(
      Uint8Array.from(t.data as Uint8Array, (v) => (v !== 0 ? 1 : 0)),
      shape,
      "bool",
    );
  }
  if (SMALL_INTS.has(t.dtype)) {
    const d = t.data as ArrayLike<number>;
    return tf.tensor(d instanceof Int32Array ? d : Int32Array.from(d), shape, "int32");
  }
  if (WIDE_INTS.has(t.dtype)) {
    const wide = t.toFloat64();
    const out = new Int32Array(wide.length);
    for (let i = 0; i < wide.length; i++) {
      const v = wide[i];
      if (v < -2147483648 || v > 2147483647) {
        throw new TfBridgeError(`tensorToTf: ${t.dtype} element ${i} = ${v} does not fit tfjs int32`);
      }
      out[i] = v;
    }
    return tf.tensor(out, shape, "int32");
  }
  let values: Float32Array;
  try {
    values = t.toFloat32();
  } catch (e) {
    throw new TfBridgeError(
      `tensorToTf: ${t.dtype} has no float32 form (${e instanceof Error ? e.message : e})`,
    );
  }
  return tf.tensor(values, shape, "float32");
}

/**
 * A project Tensor with a copy of `t`'s values: float32 -> F32, int32 -> I32, bool -> BOOL, then
 * converted to `dtype` if given (e.g. "BF16" to store a trained weight).
 */
export function tfToTensor(t: tf.Tensor, dtype?: DType): Tensor {
  // Copy: the cpu backend's dataSync() is its internal storage.
  const data = (t.dataSync() as Float32Array | Int32Array | Uint8Array).slice();
  let out: Tensor;
  if (t.dtype === "float32") out = new Tensor("F32", [...t.shape], data as Float32Array);
  else if (t.dtype === "int32") out = new Tensor("I32", [...t.shape], data as Int32Array);
  else if (t.dtype === "bool") out = new Tensor("BOOL", [...t.shape], data as Uint8Array);
  else throw new TfBridgeError(`tfToTensor: unsupported tf dtype ${t.dtype}`);
  return dtype === undefined || dtype === out.dtype ? out : out.to(dtype);
}
