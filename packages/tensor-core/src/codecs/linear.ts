// A dense linear merge of stored float tensors, fused with decoding and encoding:
//   out = encode(b + scale · Σ_i w_i · (x_i − b))
// computed chunk by chunk (a few cache-resident float32 chunks), so no input is ever decoded to a whole
// float32 array. The arithmetic is fixed to be bit-identical to this JavaScript on Float32Arrays:
//   acc[k] = 0; for each i: acc[k] += w[i] * Math.fround(x_i[k] - b[k]);  acc[k] = b[k] + scale * acc[k]
// (float32 differences; float64 products and sums, rounded to float32 at every store). The WebAssembly
// SIMD kernels do exactly that; without them the same loops run in JavaScript.

import { bf16ToF32Js, f16ToF32, f32ToBf16Js, f32ToF16 } from "../half.js";
import { SIMD_CHUNK, type SimdKernels, simdKernels } from "./simd.js";

/** A tensor's elements as stored: 16-bit bit patterns (BF16, F16) or float32 values. */
export type StoredFloats =
  | { readonly dtype: "BF16" | "F16"; readonly data: Uint16Array }
  | { readonly dtype: "F32"; readonly data: Float32Array };

export interface WeightedDeltaSumOptions {
  /**
   * Called on every decoded input chunk and on each result chunk before it is encoded, in place (e.g. to
   * round to a compute dtype). It must work element by element: chunk boundaries are arbitrary.
   */
  readonly round?: (chunk: Float32Array) => void;
}

function checkLengths(base: StoredFloats, models: readonly StoredFloats[], out: StoredFloats, w: number) {
  const n = base.data.length;
  if (models.length !== w) throw new RangeError(`${models.length} models but ${w} weights`);
  models.forEach((m, i) => {
    if (m.data.length !== n) throw new RangeError(`model ${i} has ${m.data.length} elements, base has ${n}`);
  });
  if (out.data.length !== n) throw new RangeError(`output holds ${out.data.length} elements, base has ${n}`);
  return n;
}

/** Decodes elements [o, o + dst.length) of a stored tensor into `dst`. */
function decodeInto(t: StoredFloats, o: number, dst: Float32Array): void {
  const src = t.data.subarray(o, o + dst.length);
  if (t.dtype === "F32") dst.set(src as Float32Array);
  else if (t.dtype === "BF16") bf16ToF32Js(src as Uint16Array, dst);
  else f16ToF32(src as Uint16Array, dst);
}

/** Encodes `values` as elements [o, o + values.length) of the output. */
function encodeFrom(values: Float32Array, out: StoredFloats, o: number): void {
  const dst = out.data.subarray(o, o + values.length);
  if (out.dtype === "F32") (dst as Float32Array).set(values);
  else if (out.dtype === "BF16") f32ToBf16Js(values, dst as Uint16Array);
  else f32ToF16(values, dst as Uint16Array);
}

/**
 * out = b + scale · Σ_i weights[i] · (models[i] − b), element by element, reading and writing the stored
 * forms (BF16 / F16 / F32, mixed freely). Bit-identical to the float32 JavaScript expression above with
 * or without WebAssembly SIMD. `out` must not alias an input.
 */
export function weightedDeltaSum(
  base: StoredFloats,
  models: readonly StoredFloats[],
  weights: ArrayLike<number>,
  scale: number,
  out: StoredFloats,
  options: WeightedDeltaSumOptions = {},
): StoredFloats {
  const n = checkLengths(base, models, out, weights.length);
  const simd = simdKernels();
  if (simd) simdSum(simd, base, models, weights, scale, out, n, options.round);
  else jsSum(base, models, weights, scale, out, n, options.round);
  return out;
}

function simdSum(
  k: SimdKernels,
  base: StoredFloats,
  models: readonly StoredFloats[],
  weights: ArrayLike<number>,
  scale: number,
  out: StoredFloats,
  n: number,
  round: ((chunk: Float32Array) => void) | undefined,
): void {
  const { at } = k;
  // Decodes a chunk into the float32 region `view` at byte offset `ptr` (BF16 through the SIMD kernel).
  const load = (t: StoredFloats, o: number, len: number, view: Float32Array, ptr: number) => {
    if (t.dtype === "BF16") {
      k.half.set(t.data.subarray(o, o + len));
      k.bf16_to_f32(at.half, ptr, len);
    } else decodeInto(t, o, view);
    if (round) round(view);
  };
  for (let o = 0; o < n; o += SIMD_CHUNK) {
    const len = Math.min(SIMD_CHUNK, n - o);
    const full = len === SIMD_CHUNK;
    const acc = full ? k.acc : k.acc.subarray(0, len);
    load(base, o, len, full ? k.base : k.base.subarray(0, len), at.base);
    acc.fill(0);
    const model = full ? k.model : k.model.subarray(0, len);
    for (let i = 0; i < models.length; i++) {
      const m = models[i]!;
      const w = weights[i]!;
      if (w === 1 && m.dtype === "BF16" && !round) {
        // Weight 1 (the usual task-arithmetic setting): decode fused into a float32 add, same bits.
        k.half.set(m.data.subarray(o, o + len));
        k.add_delta_bf16(at.acc, at.half, at.base, len);
        continue;
      }
      load(m, o, len, model, at.model);
      k.axpy_delta(at.acc, at.model, at.base, w, len);
    }
    k.add_scaled(at.acc, at.base, scale, len);
    if (round) round(acc);
    if (out.dtype === "BF16") {
      k.f32_to_bf16(at.acc, at.half, len);
      out.data.set(full ? k.half : k.half.subarray(0, len), o);
    } else encodeFrom(acc, out, o);
  }
}

const JS_CHUNK = 4096;

function jsSum(
  base: StoredFloats,
  models: readonly StoredFloats[],
  weights: ArrayLike<number>,
  scale: number,
  out: StoredFloats,
  n: number,
  round: ((chunk: Float32Array) => void) | undefined,
): void {
  const accFull = new Float32Array(JS_CHUNK);
  const bFull = new Float32Array(JS_CHUNK);
  const mFull = new Float32Array(JS_CHUNK);
  for (let o = 0; o < n; o += JS_CHUNK) {
    const len = Math.min(JS_CHUNK, n - o);
    const full = len === JS_CHUNK;
    const acc = full ? accFull : accFull.subarray(0, len);
    const b = full ? bFull : bFull.subarray(0, len);
    const m = full ? mFull : mFull.subarray(0, len);
    decodeInto(base, o, b);
    if (round) round(b);
    acc.fill(0);
    for (let i = 0; i < models.length; i++) {
      decodeInto(models[i]!, o, m);
      if (round) round(m);
      accumulate(acc, m, b, weights[i]!);
    }
    addScaled(acc, b, scale);
    if (round) round(acc);
    encodeFrom(acc, out, o);
  }
}

function accumulate(acc: Float32Array, m: Float32Array, b: Float32Array, w: number): void {
  for (let k = 0; k < acc.length; k++) acc[k] += w * Math.fround(m[k]! - b[k]!);
}

function addScaled(acc: Float32Array, b: Float32Array, s: number): void {
  for (let k = 0; k < acc.length; k++) acc[k] = b[k]! + s * acc[k]!;
}
