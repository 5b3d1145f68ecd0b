// `multislerp` (mergekit): barycentric interpolation of N ≥ 1 flattened tensors on a hypersphere —
// of the models, or of their task vectors when a base is given (then the base is added back).
// With weights w_i (divided by Σ w when `normalize_weights`), norms n_i and û_i = v_i / (n_i + eps):
//   m = Σ w_i û_i; ‖m‖ < eps: two inputs fall back to the linear w₁v₁ + w₂v₂, more are an error;
//   m̂ = m / ‖m‖ is the tangent point; the weighted tangent vectors Σ w_i (û_i − (û_i·m̂) m̂) sum to
//   r = m − ‖m‖ m̂ = 0, so the exponential map at m̂ with tangent norm ‖r‖ + eps = eps returns
//   cos(eps)·m̂ (mergekit evaluates that zero in floating point: it differs by rounding noise);
//   result = cos(eps)·m̂ · Σ w_i n_i  (+ θ₀).
// A single input is returned as is. Derivation: docs/mergekit-methods.md.

import type { MergeMethod } from "../method.js";
import { MergeMethodError } from "../method.js";
import { bool, checkInput, num, perModel, tensorScope, WEIGHT } from "./common.js";

export const multislerp: MergeMethod = {
  name: "multislerp",
  description:
    "Multi-SLERP: barycentric spherical interpolation of the models (of their task vectors when a base is given)",
  base: "optional",
  minModels: 1,
  randomized: false,
  params: [
    WEIGHT,
    {
      name: "normalize_weights",
      scope: "global",
      type: "boolean",
      default: true,
      description: "Divide the weights by their sum.",
    },
    {
      name: "eps",
      scope: "global",
      type: "number",
      default: 1e-8,
      min: 0,
      description: "Numerical-stability constant (norm offset, degenerate-mean threshold).",
    },
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(multislerp, input);
    const { models, base } = input;
    const where = `multislerp: tensor '${input.name}'`;
    if (models.length === 1) return models[0].slice();
    const eps = num(input.params, "eps");
    const w = perModel(input.modelParams, "weight");
    if (bool(input.params, "normalize_weights")) {
      let sw = 0;
      for (const v of w) sw += v;
      if (sw === 0) throw new MergeMethodError(`${where}: weights sum to 0, cannot normalize_weights`);
      for (let i = 0; i < w.length; i++) w[i] /= sw;
    }
    const vec = (i: number, k: number) => (base === undefined ? models[i][k] : models[i][k] - base[k]);
    const norms = models.map((_, i) => {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const x = vec(i, k);
        s += x * x;
      }
      return Math.sqrt(s);
    });
    // m = Σ w_i û_i, accumulated in float64.
    const mean = new Float64Array(d);
    models.forEach((_, i) => {
      const s = w[i] / (norms[i] + eps);
      for (let k = 0; k < d; k++) mean[k] += s * vec(i, k);
    });
    let mn = 0;
    for (let k = 0; k < d; k++) mn += mean[k] * mean[k];
    mn = Math.sqrt(mn);
    const out = new Float32Array(d);
    const b = (k: number) => (base === undefined ? 0 : base[k]);
    if (mn < eps) {
      if (models.length !== 2) {
        throw new MergeMethodError(
          `${where}: the weighted mean of the unit vectors is zero (antipodal inputs with balancing weights); change the weights`,
        );
      }
      for (let k = 0; k < d; k++) out[k] = vec(0, k) * w[0] + vec(1, k) * w[1] + b(k);
      return out;
    }
    let avgNorm = 0;
    for (let i = 0; i < models.length; i++) avgNorm += norms[i] * w[i];
    const scale = (Math.cos(eps) * avgNorm) / mn;
    for (let k = 0; k < d; k++) out[k] = mean[k] * scale + b(k);
    return out;
  },
};
