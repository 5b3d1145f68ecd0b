// `karcher` (mergekit): the Riemannian (Karcher) mean of the flattened tensors on the unit sphere,
// scaled by their mean norm. Every input is a point with equal weight 1/N — the models and, when a
// base model is given, the base too (mergekit adds the base to the merged inputs).
//
// Per tensor, with n_i = ‖θ_i‖ and unit vectors û_i = θ_i / n_i:
//   points with n_i ≤ tol are left out of the mean (their weight is redistributed); none left → 0;
//   start u = normalize(Σ a_i û_i) (û of the first point when that sum has norm < tol);
//   up to max_iter times: T = Σ a_i (θ_i / sin θ_i)(û_i − cos θ_i · u) over points with angle
//   θ_i = 2·asin(‖u − û_i‖ / 2) ≥ tol (mergekit: arccos(clamp(u·û_i, −1, 1)), the same angle but inaccurate for
//   small ones); stop when ‖T‖ < tol; else
//   u ← cos‖T‖·u + sin‖T‖·T/‖T‖, renormalized;
//   result = (Σ_i n_i / N) · u (every point's norm, the dropped ones included).
// Reductions run in float64; u and T are float32 vectors (see docs/mergekit-methods.md).

import type { MergeMethod } from "../method.js";
import { MergeMethodError } from "../method.js";
import { checkInput, num, tensorScope } from "./common.js";

/** ‖a − b·scaleB‖ in float64. */
function distance(a: ArrayLike<number>, b: ArrayLike<number>, scaleB: number): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    const e = a[k] - b[k] * scaleB;
    s += e * e;
  }
  return Math.sqrt(s);
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * a[k];
  return Math.sqrt(s);
}

/**
 * Karcher mean of `points` (equal weights), mergekit's algorithm with its `max_iter` and `tol`.
 * Exported for tests and in-memory use; `points` are not modified.
 */
export function karcherMean(points: readonly Float32Array[], maxIter: number, tol: number): Float32Array {
  const d = points[0].length;
  if (points.length === 1) return points[0].slice();
  const alpha = 1 / points.length;
  const norms = points.map((p) => norm(p));
  const valid = points.map((_, i) => i).filter((i) => norms[i] > tol);
  const out = new Float32Array(d);
  if (valid.length === 0) return out;
  const a = 1 / valid.length; // the equal weights renormalized over the valid points
  const inv = norms.map((n) => 1 / n);
  // Initial guess: the normalized weighted mean of the unit vectors.
  const u = new Float32Array(d);
  for (const i of valid) {
    const p = points[i];
    const s = a * inv[i];
    for (let k = 0; k < d; k++) u[k] += s * p[k];
  }
  const nu = norm(u);
  if (nu < tol) {
    const p = points[valid[0]];
    for (let k = 0; k < d; k++) u[k] = p[k] * inv[valid[0]];
  } else {
    for (let k = 0; k < d; k++) u[k] /= nu;
  }
  const t = new Float32Array(d);
  for (let iter = 0; iter < maxIter; iter++) {
    t.fill(0);
    for (const i of valid) {
      const p = points[i];
      // θ from the chord (2·asin(‖u − û_i‖ / 2)) rather than arccos(u·û_i): the same angle, but accurate for the
      // small angles between fine-tunes of one model, where arccos of a float32-rounded cosine is off by ~1e-4.
      const theta = 2 * Math.asin(Math.min(1, distance(u, p, inv[i]) / 2));
      const c = Math.cos(theta);
      if (theta < tol) continue;
      const f = (a * theta) / Math.sin(theta);
      const fi = f * inv[i];
      const fc = f * c;
      for (let k = 0; k < d; k++) t[k] += fi * p[k] - fc * u[k];
    }
    const nt = norm(t);
    if (nt < tol) break;
    const cs = Math.cos(nt);
    const sn = Math.sin(nt) / nt;
    for (let k = 0; k < d; k++) u[k] = cs * u[k] + sn * t[k];
    const un = norm(u);
    if (un > tol) for (let k = 0; k < d; k++) u[k] /= un;
  }
  let scale = 0;
  for (const n of norms) scale += alpha * n;
  for (let k = 0; k < d; k++) out[k] = scale * u[k];
  return out;
}

export const karcher: MergeMethod = {
  name: "karcher",
  description:
    "Karcher mean: Riemannian mean of the flattened tensors on the unit sphere, scaled by their mean norm (a given base joins as one more point)",
  base: "optional",
  minModels: 1,
  randomized: false,
  params: [
    {
      name: "max_iter",
      scope: "global",
      type: "number",
      default: 10,
      min: 0,
      description: "Maximum iterations of the Karcher mean (an integer).",
    },
    {
      name: "tol",
      scope: "global",
      type: "number",
      default: 1e-5,
      min: 0,
      description:
        "Tolerance: stop when the tangent step's norm is below it; points with norm ≤ tol and angles < tol are skipped.",
    },
  ],
  scopeOf: tensorScope,
  validate(params) {
    const maxIter = num(params, "max_iter");
    if (!Number.isInteger(maxIter)) {
      throw new MergeMethodError(`karcher: parameter 'max_iter' must be an integer, got ${maxIter}`);
    }
  },
  mergeTensor(input) {
    checkInput(karcher, input);
    const points = input.base === undefined ? input.models : [...input.models, input.base];
    return karcherMean(points, num(input.params, "max_iter"), num(input.params, "tol"));
  },
};
