// Conversions between flat typed arrays (+ shape) and tf.Tensor. tfjs tensors hold float32, int32 or
// bool, so Float64 data is narrowed to float32 and small integer types widen to int32.
import * as tf from "@tensorflow/tfjs-core";
import { TfBridgeError } from "./errors.js";

export type TfNumericDType = "float32" | "int32" | "bool";

export type BridgeArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

function checkShape(length: number, shape: readonly number[]): void {
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0)
      throw new TfBridgeError(`toTf: bad dimension ${s} in shape [${shape}]`);
    n *= s;
  }
  if (n !== length) throw new TfBridgeError(`toTf: shape [${shape}] needs ${n} elements, data has ${length}`);
}

/**
 * A tf.Tensor with the given shape from a flat row-major array. Default dtype: float32 for float
 * arrays, int32 for integer arrays; pass "bool" for a 0/1 Uint8Array mask. Float32/Int32 data is
 * copied once by tfjs; other types are converted.
 */
export function toTf(data: BridgeArray, shape: readonly number[], dtype?: TfNumericDType): tf.Tensor {
  checkShape(data.length, shape);
  const isFloat = data instanceof Float32Array || data instanceof Float64Array;
  const dt: TfNumericDType = dtype ?? (isFloat ? "float32" : "int32");
  let values: Float32Array | Int32Array | Uint8Array;
  if (dt === "float32") values = data instanceof Float32Array ? data : Float32Array.from(data);
  else if (dt === "int32") {
    if (isFloat) throw new TfBridgeError("toTf: float data cannot become int32 implicitly; round it first");
    values = data instanceof Int32Array ? data : Int32Array.from(data);
  } else {
    values = Uint8Array.from(data, (v) => (v !== 0 ? 1 : 0)); // tfjs keeps bool bytes as given
  }
  return tf.tensor(values, [...shape], dt);
}

export interface FromTfResult {
  data: Float32Array | Int32Array | Uint8Array;
  shape: number[];
  dtype: TfNumericDType;
}

function result(t: tf.Tensor, data: tf.backend_util.TypedArray): FromTfResult {
  const dtype = t.dtype;
  if (dtype !== "float32" && dtype !== "int32" && dtype !== "bool") {
    throw new TfBridgeError(`fromTf: unsupported tensor dtype ${dtype}`);
  }
  return { data: data as FromTfResult["data"], shape: [...t.shape], dtype };
}

/**
 * Reads a tf.Tensor back synchronously as flat data + shape. Always a copy: the cpu backend's
 * `dataSync()` returns its internal storage, which must not be mutated. Does not dispose `t`.
 */
export function fromTf(t: tf.Tensor): FromTfResult {
  return result(t, (t.dataSync() as tf.backend_util.TypedArray).slice());
}

/** Async `fromTf` (uses `t.data()`, which lets other work run on GPU-like backends). */
export async function fromTfAsync(t: tf.Tensor): Promise<FromTfResult> {
  return result(t, (await t.data()) as tf.backend_util.TypedArray);
}
