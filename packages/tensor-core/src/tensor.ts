// A dense, contiguous, row-major tensor over a typed array of its dtype's storage type.

import { convertData, decodeToFloat32, decodeToFloat64 } from "./convert.js";
import { type DType, type DTypeArrayMap, dtypeInfo, isDType, numelOf, type TensorData } from "./dtype.js";
import { TensorError } from "./errors.js";

function checkShape(shape: readonly number[]): number {
  const n = numelOf(shape);
  if (n < 0)
    throw new TensorError(`invalid shape [${shape.join(", ")}]: dimensions must be non-negative integers`);
  return n;
}

/** Storage length (typed-array elements) of `numel` elements of `dtype`. */
function storageLength(dtype: DType, numel: number): number {
  const info = dtypeInfo(dtype);
  if (info.bits < 8) {
    const bits = numel * info.bits;
    if (bits % 8 !== 0)
      throw new TensorError(`${numel} elements of ${dtype} are not a whole number of bytes`);
    return bits / 8;
  }
  return numel * info.lanes;
}

/**
 * An n-dimensional tensor: `dtype`, `shape` and contiguous row-major `data` in the dtype's typed array
 * (F16/BF16 as Uint16Array bit patterns, I64/U64 as BigInt64Array/BigUint64Array, BOOL and FP8 as Uint8Array,
 * C64 as interleaved Float32Array, F4/F6 as packed bytes). Little-endian, like safetensors.
 */
export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DTypeArrayMap[D];

  /** Wraps `data` (not copied). Throws `TensorError` when its length does not match the shape. */
  constructor(dtype: D, shape: readonly number[], data: DTypeArrayMap[D]) {
    if (!isDType(dtype)) throw new TensorError(`unknown dtype ${JSON.stringify(dtype)}`);
    const numel = checkShape(shape);
    const info = dtypeInfo(dtype);
    if (!(data instanceof info.array)) {
      throw new TensorError(
        `${dtype} data must be a ${info.array.name}, got ${data?.constructor?.name ?? typeof data}`,
      );
    }
    const want = storageLength(dtype, numel);
    if (data.length !== want) {
      throw new TensorError(
        `${dtype} tensor of shape [${shape.join(", ")}] needs ${want} elements, got ${data.length}`,
      );
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  /** A zero-filled tensor. */
  static zeros<D extends DType>(dtype: D, shape: readonly number[]): Tensor<D> {
    const info = dtypeInfo(dtype);
    return new Tensor(
      dtype,
      shape,
      new info.array(storageLength(dtype, checkShape(shape))) as DTypeArrayMap[D],
    );
  }

  /**
   * A tensor over little-endian `bytes`. Views the bytes when they are aligned to the element size, copies
   * otherwise (safetensors offsets need not be aligned); pass `copy: true` to always own the data.
   */
  static fromBytes<D extends DType>(
    dtype: D,
    shape: readonly number[],
    bytes: Uint8Array,
    copy = false,
  ): Tensor<D> {
    const info = dtypeInfo(dtype);
    const len = storageLength(dtype, checkShape(shape));
    const bpe = info.array.BYTES_PER_ELEMENT;
    if (bytes.byteLength !== len * bpe) {
      throw new TensorError(
        `${dtype} tensor of shape [${shape.join(", ")}] needs ${len * bpe} bytes, got ${bytes.byteLength}`,
      );
    }
    if (copy || bytes.byteOffset % bpe !== 0) {
      const own = new Uint8Array(bytes.byteLength);
      own.set(bytes);
      return new Tensor(dtype, shape, new info.array(own.buffer, 0, len) as DTypeArrayMap[D]);
    }
    return new Tensor(dtype, shape, new info.array(bytes.buffer, bytes.byteOffset, len) as DTypeArrayMap[D]);
  }

  /**
   * A tensor of `dtype` holding `values` converted from float32 (rounded to nearest even for F16/BF16).
   * For F32 the tensor wraps `values` itself (no copy).
   */
  static fromFloat32<D extends DType>(dtype: D, shape: readonly number[], values: Float32Array): Tensor<D> {
    const numel = checkShape(shape);
    if (values.length !== numel) {
      throw new TensorError(`shape [${shape.join(", ")}] needs ${numel} values, got ${values.length}`);
    }
    if (dtype === "F32") return new Tensor(dtype, shape, values as DTypeArrayMap[D]);
    return new Tensor(dtype, shape, convertData("F32", dtype, values, numel) as DTypeArrayMap[D]);
  }

  /** A tensor of `dtype` from plain numbers (converted as from float64). */
  static fromNumbers<D extends DType>(
    dtype: D,
    shape: readonly number[],
    values: ArrayLike<number>,
  ): Tensor<D> {
    const numel = checkShape(shape);
    if (values.length !== numel) {
      throw new TensorError(`shape [${shape.join(", ")}] needs ${numel} values, got ${values.length}`);
    }
    const f64 = Float64Array.from(values);
    return new Tensor(dtype, shape, convertData("F64", dtype, f64, numel) as DTypeArrayMap[D]);
  }

  /** Number of elements (product of the shape; 1 for a scalar). */
  get numel(): number {
    return numelOf(this.shape);
  }

  /** Size of the data in bytes. */
  get byteLength(): number {
    return this.data.byteLength;
  }

  /** The data as little-endian bytes (a view, not a copy). */
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  /** The values as a fresh Float32Array (exact for F16/BF16/FP8; F64 and large integers round to nearest). */
  toFloat32(out?: Float32Array): Float32Array {
    const n = this.numel;
    if (out !== undefined && out.length !== n) {
      throw new TensorError(`output holds ${out.length} values, tensor has ${n}`);
    }
    return decodeToFloat32(this.dtype, this.data, out ?? new Float32Array(n));
  }

  /** The values as a fresh Float64Array. */
  toFloat64(out?: Float64Array): Float64Array {
    const n = this.numel;
    if (out !== undefined && out.length !== n) {
      throw new TensorError(`output holds ${out.length} values, tensor has ${n}`);
    }
    return decodeToFloat64(this.dtype, this.data, out ?? new Float64Array(n));
  }

  /** A converted copy (always a new tensor, even for the same dtype). See `convert.ts` for the rules. */
  to<T extends DType>(dtype: T): Tensor<T> {
    return new Tensor(
      dtype,
      this.shape,
      convertData(this.dtype, dtype, this.data, this.numel) as DTypeArrayMap[T],
    );
  }

  /** A copy with its own buffer. */
  clone(): Tensor<D> {
    return this.to(this.dtype) as unknown as Tensor<D>;
  }

  /** The same data under another shape with the same element count (no copy). */
  reshape(shape: readonly number[]): Tensor<D> {
    const n = checkShape(shape);
    if (n !== this.numel) {
      throw new TensorError(
        `cannot reshape [${this.shape.join(", ")}] (${this.numel} elements) to [${shape.join(", ")}]`,
      );
    }
    return new Tensor(this.dtype, shape, this.data);
  }
}

export type { TensorData };
