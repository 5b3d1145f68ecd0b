// Element conversions between dtypes on typed arrays, no per-element allocation.
//
// Rules (documented in the README): float -> float rounds to nearest even (F64 -> F16/BF16 in a single
// rounding); float -> integer truncates toward zero and wraps modulo 2^bits like a typed-array store, NaN and
// ±Inf give 0; anything -> BOOL is `x != 0` (NaN -> true, as torch); integer -> integer wraps modulo 2^bits
// (64-bit integers are handled on their 32-bit words, so I64 <-> U64 <-> I32 are exact bit operations);
// integer -> float rounds to nearest. C64, F4/F6, F8_E8M0 and the FNUZ floats only convert to themselves;
// F8_E4M3/F8_E5M2 decode but are not encoded.

import { type DType, dtypeInfo, type TensorData } from "./dtype.js";
import { TensorError } from "./errors.js";
import { f8e4m3Table, f8e5m2Table } from "./f8.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f64ToBf16, f64ToF16 } from "./half.js";

const TWO32 = 4294967296;

function unsupported(from: DType, to: DType): TensorError {
  return new TensorError(`conversion from ${from} to ${to} is not supported`);
}

function words(a: BigInt64Array | BigUint64Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** Decodes any numeric dtype to float32 (rounding F64 and 64/32-bit integers to nearest). */
export function decodeToFloat32(dtype: DType, data: TensorData, out: Float32Array): Float32Array {
  const n = out.length;
  switch (dtype) {
    case "F32":
      out.set(data as Float32Array);
      return out;
    case "BF16":
      return bf16ToF32(data as Uint16Array, out);
    case "F16":
      return f16ToF32(data as Uint16Array, out);
    case "F8_E4M3":
    case "F8_E5M2": {
      const t = dtype === "F8_E4M3" ? f8e4m3Table() : f8e5m2Table();
      const src = data as Uint8Array;
      for (let i = 0; i < n; i++) out[i] = t[src[i]];
      return out;
    }
    case "I64":
    case "U64": {
      const w = words(data as BigInt64Array);
      const signed = dtype === "I64";
      for (let i = 0; i < n; i++) out[i] = wordsToNumber(w[2 * i], w[2 * i + 1], signed);
      return out;
    }
    case "BOOL": {
      const src = data as Uint8Array;
      for (let i = 0; i < n; i++) out[i] = src[i] !== 0 ? 1 : 0;
      return out;
    }
    default:
      if (dtypeInfo(dtype).kind === "raw") throw unsupported(dtype, "F32");
      // F64 and <= 32-bit integers: a typed-array store rounds to nearest float32 (F64 via a single rounding).
      out.set(data as Float64Array);
      return out;
  }
}

/** Decodes any numeric dtype to float64 (exact except 64-bit integers beyond 2^53, which round to nearest). */
export function decodeToFloat64(dtype: DType, data: TensorData, out: Float64Array): Float64Array {
  const n = out.length;
  switch (dtype) {
    case "F64":
      out.set(data as Float64Array);
      return out;
    case "BF16":
    case "F16":
    case "F8_E4M3":
    case "F8_E5M2":
    case "BOOL":
      out.set(decodeToFloat32(dtype, data, new Float32Array(n)));
      return out;
    case "I64":
    case "U64": {
      const w = words(data as BigInt64Array);
      const signed = dtype === "I64";
      for (let i = 0; i < n; i++) out[i] = wordsToNumber(w[2 * i], w[2 * i + 1], signed);
      return out;
    }
    default:
      if (dtypeInfo(dtype).kind === "raw") throw unsupported(dtype, "F64");
      out.set(data as Float32Array);
      return out;
  }
}

function wordsToNumber(lo: number, hi: number, signed: boolean): number {
  // hi * 2^32 is exact; adding lo rounds once.
  const h = signed ? hi | 0 : hi;
  return h * TWO32 + lo;
}

/** Encodes float values (float32 or float64 source) into `to`'s storage. */
function encodeFloats(src: Float32Array | Float64Array, to: DType, out: TensorData, from: DType): void {
  const n = src.length;
  const is64 = src instanceof Float64Array;
  switch (to) {
    case "F32":
    case "F64":
      (out as Float64Array).set(src);
      return;
    case "BF16":
      if (is64) f64ToBf16(src, out as Uint16Array);
      else f32ToBf16(src, out as Uint16Array);
      return;
    case "F16":
      if (is64) f64ToF16(src, out as Uint16Array);
      else f32ToF16(src, out as Uint16Array);
      return;
    case "BOOL": {
      const o = out as Uint8Array;
      for (let i = 0; i < n; i++) o[i] = src[i] !== 0 ? 1 : 0;
      return;
    }
    case "I64":
    case "U64": {
      const w = words(out as BigInt64Array);
      for (let i = 0; i < n; i++) {
        const x = src[i];
        if (!Number.isFinite(x)) {
          w[2 * i] = 0;
          w[2 * i + 1] = 0;
          continue;
        }
        const t = Math.trunc(x);
        // Two's complement modulo 2^64 from exact double arithmetic.
        const lo = ((t % TWO32) + TWO32) % TWO32;
        const hi = ((((t - lo) / TWO32) % TWO32) + TWO32) % TWO32;
        w[2 * i] = lo;
        w[2 * i + 1] = hi;
      }
      return;
    }
    default: {
      const info = dtypeInfo(to);
      if (info.kind !== "int" && info.kind !== "uint") throw unsupported(from, to);
      const o = out as Int32Array;
      for (let i = 0; i < n; i++) {
        const x = src[i];
        // Truncation toward zero then a modular typed-array store; NaN/Inf store 0.
        o[i] = Number.isFinite(x) ? Math.trunc(x) % TWO32 : 0;
      }
    }
  }
}

/** Converts `data` (of dtype `from`) into a fresh array of dtype `to` with `count` tensor elements. */
export function convertData(from: DType, to: DType, data: TensorData, count: number): TensorData {
  const toInfo = dtypeInfo(to);
  const fromInfo = dtypeInfo(from);
  // Same dtype: a plain copy (also right for packed sub-byte storage, whose length is not `count`).
  if (from === to) return data.slice();
  const out = new toInfo.array(count * toInfo.lanes) as TensorData;
  if (fromInfo.kind === "raw" || toInfo.kind === "raw") throw unsupported(from, to);
  const fromInt = fromInfo.kind === "int" || fromInfo.kind === "uint" || fromInfo.kind === "bool";
  const toInt = toInfo.kind === "int" || toInfo.kind === "uint";
  if (fromInt && toInt) {
    convertIntegers(from, to, data, out, count);
    return out;
  }
  if (from === "F64") {
    encodeFloats(data as Float64Array, to, out, from);
  } else if (from === "F32") {
    encodeFloats(data as Float32Array, to, out, from);
  } else if (fromInfo.bits <= 16 && fromInfo.kind !== "int" && fromInfo.kind !== "uint") {
    // Halves, FP8 and BOOL are exact in float32.
    encodeFloats(decodeToFloat32(from, data, new Float32Array(count)), to, out, from);
  } else {
    encodeFloats(decodeToFloat64(from, data, new Float64Array(count)), to, out, from);
  }
  return out;
}

function convertIntegers(from: DType, to: DType, data: TensorData, out: TensorData, n: number): void {
  const from64 = from === "I64" || from === "U64";
  const to64 = to === "I64" || to === "U64";
  if (from === "BOOL") {
    const src = data as Uint8Array;
    if (to64) {
      const w = words(out as BigInt64Array);
      for (let i = 0; i < n; i++) w[2 * i] = src[i] !== 0 ? 1 : 0;
    } else {
      const o = out as Int32Array;
      for (let i = 0; i < n; i++) o[i] = src[i] !== 0 ? 1 : 0;
    }
    return;
  }
  if (from64 && to64) {
    words(out as BigInt64Array).set(words(data as BigInt64Array));
  } else if (from64) {
    const w = words(data as BigInt64Array);
    const o = out as Int32Array;
    for (let i = 0; i < n; i++) o[i] = w[2 * i];
  } else if (to64) {
    const src = data as Int32Array;
    const w = words(out as BigInt64Array);
    for (let i = 0; i < n; i++) {
      const v = src[i];
      w[2 * i] = v >>> 0;
      w[2 * i + 1] = v < 0 ? 0xffffffff : 0;
    }
  } else {
    (out as Int32Array).set(data as Int32Array);
  }
}
