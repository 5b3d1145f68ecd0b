// Exact codecs for the 16-bit floats (IEEE binary16 "F16" and bfloat16 "BF16") stored as Uint16Array bits.
//
// Encoding rounds to nearest, ties to even; overflow goes to ±Infinity; NaN stays NaN and is made quiet (the
// top mantissa bit set, the rest of the payload truncated), like torch and numpy; subnormals are exact.
// F32 -> 16-bit works on the IEEE bit pattern. F64 -> 16-bit first rounds to float32 *to odd* (keep the
// truncated value, force the last bit to 1 if anything was discarded), which makes the second rounding
// give the correctly rounded result of a single F64 -> 16-bit rounding (24 >= 11 + 2 and 24 >= 8 + 2 bits).

import { SIMD_CHUNK, type SimdKernels, simdKernels } from "./codecs/simd.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let f16Table: Float32Array | undefined;

/** All 65536 binary16 values as float32, built once on first use (256 KiB). */
function f16Lut(): Float32Array {
  if (f16Table !== undefined) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0x1f) {
      // Inf / NaN: keep the payload in the top mantissa bits.
      bits[h] = sign | 0x7f800000 | (man << 13);
    } else if (exp === 0) {
      // Zero / subnormal: man * 2^-24 is exact in float32.
      table[h] = man * 2 ** -24;
      if (sign !== 0) table[h] = -table[h];
      if (man === 0) bits[h] = sign;
    } else {
      bits[h] = sign | ((exp + 112) << 23) | (man << 13);
    }
  }
  f16Table = table;
  return table;
}

/** binary16 bits -> number (exact). */
export function f16ToNumber(h: number): number {
  return f16Lut()[h & 0xffff];
}

/** bfloat16 bits -> number (exact). */
export function bf16ToNumber(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** float32 bit pattern -> bfloat16 bits, round to nearest even. */
function bitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x0040;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** float32 bit pattern (plus its value for the subnormal path) -> binary16 bits, round to nearest even. */
function bitsToF16(bits: number, value: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x38800000) {
    if (abs >= 0x477ff000) {
      // >= 65520 (the midpoint above the largest half, 65504, which is odd) rounds to Inf; NaN stays NaN, quiet.
      return abs > 0x7f800000 ? sign | 0x7e00 | ((abs >>> 13) & 0x3ff) : sign | 0x7c00;
    }
    // Normal in binary16: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even.
    const v = abs - 0x38000000;
    return sign | ((v + 0xfff + ((v >>> 13) & 1)) >>> 13);
  }
  // Subnormal or zero in binary16: count units of 2^-24; adding 1.5 * 2^52 rounds half to even.
  const units = Math.abs(value) * 16777216;
  return sign | (units + 6755399441055744 - 6755399441055744);
}

/** Rounds a double to float32 by round-to-odd and returns the float32 bit pattern. */
function roundToOddBits(x: number): number {
  f32[0] = x;
  const r = f32[0];
  if (r === x || Number.isNaN(x)) return u32[0];
  let bits = u32[0];
  // Rounded away from zero (including overflow to Inf): step back toward zero to the truncated value.
  if (Math.abs(r) > Math.abs(x)) bits = (bits - 1) >>> 0;
  return (bits | 1) >>> 0;
}

/** number -> bfloat16 bits, correctly rounded (nearest, ties to even). */
export function numberToBf16(x: number): number {
  return bitsToBf16(roundToOddBits(x));
}

/** number -> binary16 bits, correctly rounded (nearest, ties to even). */
export function numberToF16(x: number): number {
  const bits = roundToOddBits(x);
  u32[0] = bits;
  return bitsToF16(bits, f32[0]);
}

function checkOut<T extends { length: number }>(out: T | undefined, n: number, make: (n: number) => T): T {
  if (out === undefined) return make(n);
  if (out.length < n) throw new RangeError(`output holds ${out.length} elements, need ${n}`);
  return out;
}

/** Below this many elements the JavaScript loops beat copying through WebAssembly memory. */
const SIMD_MIN = 256;

/** A WebAssembly codec kernel: reads `n` elements at byte offset `src`, writes them at `dst`. */
type SimdCodec = (src: number, dst: number, n: number) => void;

/**
 * 16-bit patterns -> float32 through WebAssembly memory, chunk by chunk. Each chunk is copied in before its
 * outputs are written, which keeps readFloat32's in-place decode (src in the upper half of dst) safe.
 */
function simdDecode(simd: SimdKernels, kernel: SimdCodec, src: Uint16Array, dst: Float32Array): Float32Array {
  const n = src.length;
  for (let o = 0; o < n; o += SIMD_CHUNK) {
    const len = Math.min(SIMD_CHUNK, n - o);
    simd.codecHalf.set(src.subarray(o, o + len));
    kernel(simd.at.codecHalf, simd.at.codecF32, len);
    dst.set(len === SIMD_CHUNK ? simd.codecF32 : simd.codecF32.subarray(0, len), o);
  }
  return dst;
}

/** float32 -> 16-bit patterns through WebAssembly memory, chunk by chunk. */
function simdEncode(simd: SimdKernels, kernel: SimdCodec, src: Float32Array, dst: Uint16Array): Uint16Array {
  const n = src.length;
  for (let o = 0; o < n; o += SIMD_CHUNK) {
    const len = Math.min(SIMD_CHUNK, n - o);
    // Bit patterns, not values, are copied (Float32Array.set between float32 arrays keeps NaN payloads).
    simd.codecF32.set(src.subarray(o, o + len));
    kernel(simd.at.codecF32, simd.at.codecHalf, len);
    dst.set(len === SIMD_CHUNK ? simd.codecHalf : simd.codecHalf.subarray(0, len), o);
  }
  return dst;
}

/** bfloat16 bits -> float32 (exact). `out` may be given to avoid allocation. */
export function bf16ToF32(src: Uint16Array, out?: Float32Array): Float32Array {
  const n = src.length;
  const dst = checkOut(out, n, (k) => new Float32Array(k));
  const simd = n >= SIMD_MIN ? simdKernels() : undefined;
  return simd ? simdDecode(simd, simd.bf16_to_f32, src, dst) : bf16ToF32Js(src, dst);
}

/** The JavaScript form of `bf16ToF32` (no WebAssembly), into `dst` of at least src.length elements. */
export function bf16ToF32Js(src: Uint16Array, dst: Float32Array): Float32Array {
  const n = src.length;
  const bits = new Int32Array(dst.buffer, dst.byteOffset, n);
  let i = 0;
  if (src.byteOffset % 4 === 0) {
    // Two elements per 32-bit load: the low half is element 2j, the high half element 2j + 1. Reading word j
    // before writing output 2j, 2j + 1 also keeps the in-place decode of readFloat32 safe.
    const words = new Int32Array(src.buffer, src.byteOffset, n >> 1);
    for (let j = 0; j < words.length; j++) {
      const w = words[j];
      bits[2 * j] = w << 16;
      bits[2 * j + 1] = w & -65536;
    }
    i = words.length * 2;
  }
  for (; i < n; i++) bits[i] = src[i] << 16;
  return dst;
}

/** float32 bit pattern (as int32) -> bfloat16 bits, round to nearest even, NaN made quiet. */
function encodeBf16(b: number): number {
  return (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x0040 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

/** float32 -> bfloat16 bits, round to nearest even, NaN kept quiet. */
export function f32ToBf16(src: Float32Array, out?: Uint16Array): Uint16Array {
  const n = src.length;
  const dst = checkOut(out, n, (k) => new Uint16Array(k));
  const simd = n >= SIMD_MIN ? simdKernels() : undefined;
  return simd ? simdEncode(simd, simd.f32_to_bf16, src, dst) : f32ToBf16Js(src, dst);
}

/** The JavaScript form of `f32ToBf16` (no WebAssembly), into `dst` of at least src.length elements. */
export function f32ToBf16Js(src: Float32Array, dst: Uint16Array): Uint16Array {
  const n = src.length;
  const bits = new Int32Array(src.buffer, src.byteOffset, n);
  let i = 0;
  if (dst.byteOffset % 4 === 0) {
    // Two results per 32-bit store.
    const words = new Int32Array(dst.buffer, dst.byteOffset, n >> 1);
    for (let j = 0; j < words.length; j++)
      words[j] = encodeBf16(bits[2 * j]) | (encodeBf16(bits[2 * j + 1]) << 16);
    i = words.length * 2;
  }
  for (; i < n; i++) dst[i] = encodeBf16(bits[i]);
  return dst;
}

/** binary16 bits -> float32 (exact). `out` may be given to avoid allocation. */
export function f16ToF32(src: Uint16Array, out?: Float32Array): Float32Array {
  const n = src.length;
  const dst = checkOut(out, n, (k) => new Float32Array(k));
  const simd = n >= SIMD_MIN ? simdKernels() : undefined;
  return simd ? simdDecode(simd, simd.f16_to_f32, src, dst) : f16ToF32Js(src, dst);
}

/** The JavaScript form of `f16ToF32` (table lookup), into `dst` of at least src.length elements. */
export function f16ToF32Js(src: Uint16Array, dst: Float32Array): Float32Array {
  const n = src.length;
  const lut = f16Lut();
  // Int32 views keep every pattern a small integer in optimized code (uint32 above 2^31 would not be).
  const dbits = new Int32Array(dst.buffer, dst.byteOffset, n);
  const lbits = new Int32Array(lut.buffer);
  // Copy bit patterns, not values, so NaN payloads survive exactly.
  for (let i = 0; i < n; i++) dbits[i] = lbits[src[i]];
  return dst;
}

/** float32 -> binary16 bits, round to nearest even, NaN kept quiet, overflow to ±Inf. */
export function f32ToF16(src: Float32Array, out?: Uint16Array): Uint16Array {
  const n = src.length;
  const dst = checkOut(out, n, (k) => new Uint16Array(k));
  const simd = n >= SIMD_MIN ? simdKernels() : undefined;
  return simd ? simdEncode(simd, simd.f32_to_f16, src, dst) : f32ToF16Js(src, dst);
}

/** The JavaScript form of `f32ToF16` (no WebAssembly), into `dst` of at least src.length elements. */
export function f32ToF16Js(src: Float32Array, dst: Uint16Array): Uint16Array {
  const n = src.length;
  const bits = new Int32Array(src.buffer, src.byteOffset, n);
  let i = 0;
  if (dst.byteOffset % 4 === 0) {
    // Two results per 32-bit store.
    const words = new Int32Array(dst.buffer, dst.byteOffset, n >> 1);
    for (let j = 0; j < words.length; j++) {
      words[j] = bitsToF16(bits[2 * j], src[2 * j]) | (bitsToF16(bits[2 * j + 1], src[2 * j + 1]) << 16);
    }
    i = words.length * 2;
  }
  for (; i < n; i++) dst[i] = bitsToF16(bits[i], src[i]);
  return dst;
}

/** float64 -> bfloat16 bits, correctly rounded (single rounding). */
export function f64ToBf16(src: Float64Array, out?: Uint16Array): Uint16Array {
  const n = src.length;
  const dst = checkOut(out, n, (k) => new Uint16Array(k));
  for (let i = 0; i < n; i++) dst[i] = bitsToBf16(roundToOddBits(src[i]));
  return dst;
}

/** float64 -> binary16 bits, correctly rounded (single rounding). */
export function f64ToF16(src: Float64Array, out?: Uint16Array): Uint16Array {
  const n = src.length;
  const dst = checkOut(out, n, (k) => new Uint16Array(k));
  for (let i = 0; i < n; i++) dst[i] = numberToF16(src[i]);
  return dst;
}
