// Elementwise kernels on float typed arrays. Every kernel takes an optional output (allocated like
// the input when omitted; may alias the input for in-place use) and an optional [start, end) range,
// which is how the worker pool runs them chunk by chunk over shared memory. No per-element allocation.
import type { FloatArray } from "../select.js";
import { expectLength, expectRange, like } from "./errors.js";

function prepare(what: string, x: FloatArray, out: FloatArray | undefined, start: number, end: number) {
  const o = out ?? like(x);
  expectLength(`${what} output`, o, x.length);
  expectRange(what, start, end, x.length);
  return o;
}

/** out = |x| */
export function abs(x: FloatArray, out?: FloatArray, start = 0, end = x.length): FloatArray {
  const o = prepare("abs", x, out, start, end);
  for (let i = start; i < end; i++) o[i] = Math.abs(x[i]);
  return o;
}

/** out = sign(x) in {-1, 0, 1}; sign(±0) = ±0 (so 0 stays 0), NaN stays NaN, as Math.sign / torch.sign. */
export function sign(x: FloatArray, out?: FloatArray, start = 0, end = x.length): FloatArray {
  const o = prepare("sign", x, out, start, end);
  for (let i = start; i < end; i++) {
    const v = x[i];
    o[i] = v > 0 ? 1 : v < 0 ? -1 : v;
  }
  return o;
}

/** out = min(max(x, lo), hi) (torch.clamp order: NaN passes through). */
export function clamp(
  x: FloatArray,
  lo: number,
  hi: number,
  out?: FloatArray,
  start = 0,
  end = x.length,
): FloatArray {
  const o = prepare("clamp", x, out, start, end);
  for (let i = start; i < end; i++) {
    const v = x[i];
    // biome-ignore lint/complexity/useMathMinMax: the ternary lets NaN through, as torch.clamp does
    o[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return o;
}

/** out = exp(x) */
export function exp(x: FloatArray, out?: FloatArray, start = 0, end = x.length): FloatArray {
  const o = prepare("exp", x, out, start, end);
  for (let i = start; i < end; i++) o[i] = Math.exp(x[i]);
  return o;
}

/** out = tanh(x) */
export function tanh(x: FloatArray, out?: FloatArray, start = 0, end = x.length): FloatArray {
  const o = prepare("tanh", x, out, start, end);
  for (let i = start; i < end; i++) o[i] = Math.tanh(x[i]);
  return o;
}

/** out = a · x */
export function scale(x: FloatArray, a: number, out?: FloatArray, start = 0, end = x.length): FloatArray {
  const o = prepare("scale", x, out, start, end);
  for (let i = start; i < end; i++) o[i] = a * x[i];
  return o;
}

/** y += a · x, in place (BLAS axpy); returns y. */
export function axpy(a: number, x: FloatArray, y: FloatArray, start = 0, end = x.length): FloatArray {
  expectLength("axpy y", y, x.length);
  expectRange("axpy", start, end, x.length);
  for (let i = start; i < end; i++) y[i] += a * x[i];
  return y;
}

/** out = x + y */
export function add(x: FloatArray, y: FloatArray, out?: FloatArray, start = 0, end = x.length): FloatArray {
  expectLength("add y", y, x.length);
  const o = prepare("add", x, out, start, end);
  for (let i = start; i < end; i++) o[i] = x[i] + y[i];
  return o;
}

/** out = x ⊙ y */
export function mul(x: FloatArray, y: FloatArray, out?: FloatArray, start = 0, end = x.length): FloatArray {
  expectLength("mul y", y, x.length);
  const o = prepare("mul", x, out, start, end);
  for (let i = start; i < end; i++) o[i] = x[i] * y[i];
  return o;
}

/**
 * out = (x − lo) / (hi − lo) with given bounds (see `minMaxNormalize` for the whole-row form).
 * With `guard`, a zero span yields 0 instead of the reference's 0/0 = NaN.
 */
export function affineNormalize(
  x: FloatArray,
  lo: number,
  hi: number,
  guard = false,
  out?: FloatArray,
  start = 0,
  end = x.length,
): FloatArray {
  const o = prepare("affineNormalize", x, out, start, end);
  const span = hi - lo;
  if (guard && span === 0) {
    o.fill(0, start, end);
    return o;
  }
  for (let i = start; i < end; i++) o[i] = (x[i] - lo) / span;
  return o;
}

/**
 * The chain of bench/compute.bench.mjs, fused: out = sign(a) · min(|a|, cap) · exp(−alpha · x²).
 * One pass, no temporaries (the unfused tfjs form allocates a tensor per op).
 */
export function gatedClamp(
  a: FloatArray,
  x: FloatArray,
  cap: number,
  alpha: number,
  out?: FloatArray,
  start = 0,
  end = a.length,
): FloatArray {
  expectLength("gatedClamp x", x, a.length);
  const o = prepare("gatedClamp", a, out, start, end);
  for (let i = start; i < end; i++) {
    const v = a[i];
    const m = Math.abs(v);
    const s = v > 0 ? 1 : v < 0 ? -1 : v;
    const xi = x[i];
    o[i] = s * Math.min(m, cap) * Math.exp(-alpha * xi * xi);
  }
  return o;
}
