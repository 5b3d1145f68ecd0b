// `sce` (mergekit, "Select, Calculate, Erase"), per tensor:
//  select: with select_topk < 1, keep the ⌊topk · #(non-zero variance)⌋ positions whose variance
//          across the task vectors (population variance) is largest, the same positions for every
//          model (k = 0 keeps nothing; ties by lower index);
//  calculate: one weight per model, mean(δ̂_i²), divided by their sum — uniform 1/n when that sum is
//          below 1e-6 in magnitude, which is the usual case for full fine-tunes (task vectors of
//          1e-4 to 1e-3 RMS give mean squares of 1e-8 to 1e-6);
//  erase: keep entries whose sign matches the elected sign (+ where Σ_i δ̂_i ≥ 0), then the
//         weighted sum divided by the kept weights, that divisor floored at 1e-6. No λ; θ = θ₀ + mixed.
// The two thresholds are mergekit's (`sce_weight`, `sce_merge`); see docs/mergekit-methods.md.

import type { MergeMethod } from "../method.js";
import { checkInput, INT8_MASK, num, tensorScope } from "./common.js";
import { topKMask } from "./sparsify.js";

/** mergekit's floor for the weight sum (below it: uniform weights) and for the per-entry divisor. */
export const SCE_WEIGHT_SUM_MIN = 1e-6;
export const SCE_DIVISOR_MIN = 1e-6;

export const sce: MergeMethod = {
  name: "sce",
  description: "SCE: variance-based top-k selection, per-tensor weights ∝ mean(δ²), sign-consensus erase",
  base: "required",
  minModels: 1,
  randomized: false,
  params: [
    {
      name: "select_topk",
      scope: "global",
      type: "number",
      default: 1,
      description: "Fraction of the non-zero-variance positions kept (1 = keep all).",
    },
    INT8_MASK,
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(sce, input);
    const base = input.base as Float32Array;
    const { models } = input;
    const n = models.length;
    const topk = num(input.params, "select_topk");
    const delta = new Float32Array(d);
    const deltaOf = (i: number) => {
      const m = models[i];
      for (let k = 0; k < d; k++) delta[k] = m[k] - base[k];
      return delta;
    };
    // Select: a shared mask from the per-position variance of the deltas.
    let mask: Uint8Array | undefined;
    if (topk < 1) {
      const mean = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        deltaOf(i);
        for (let k = 0; k < d; k++) mean[k] += delta[k];
      }
      for (let k = 0; k < d; k++) mean[k] /= n;
      const variance = new Float32Array(d);
      const m2 = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        deltaOf(i);
        for (let k = 0; k < d; k++) {
          const e = delta[k] - mean[k];
          m2[k] += e * e;
        }
      }
      let nonZero = 0;
      for (let k = 0; k < d; k++) {
        variance[k] = m2[k] / n;
        if (variance[k] !== 0) nonZero++;
      }
      mask = topKMask(variance, Math.trunc(Math.abs(topk) * nonZero), new Uint8Array(d));
    }
    const sel = (i: number) => {
      deltaOf(i);
      if (mask) for (let k = 0; k < d; k++) if (mask[k] === 0) delta[k] = 0;
      return delta;
    };
    // Calculate: per-model weights and the elected signs.
    const w = new Float64Array(n);
    const vote = new Float32Array(d);
    let sw = 0;
    for (let i = 0; i < n; i++) {
      sel(i);
      let sq = 0;
      for (let k = 0; k < d; k++) {
        sq += delta[k] * delta[k];
        vote[k] += delta[k];
      }
      w[i] = sq / d;
      sw += w[i];
    }
    const uniform = Math.abs(sw) < SCE_WEIGHT_SUM_MIN;
    for (let i = 0; i < n; i++) w[i] = uniform ? 1 / n : w[i] / sw;
    // Erase and merge.
    const mixed = new Float64Array(d);
    const div = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      sel(i);
      const wi = w[i];
      for (let k = 0; k < d; k++) {
        const x = delta[k];
        const elected = vote[k] >= 0 ? 1 : -1;
        if (x * elected > 0) {
          mixed[k] += x * wi;
          div[k] += wi;
        }
      }
    }
    const out = vote; // reuse
    for (let k = 0; k < d; k++) out[k] = base[k] + mixed[k] / Math.max(div[k], SCE_DIVISOR_MIN);
    return out;
  },
};
