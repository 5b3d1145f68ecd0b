// `model_stock` (mergekit): t = N·cos θ̄ / (1 + (N − 1)·cos θ̄) from the mean pairwise cosine of the
// task vectors (clamped to [−1, 1], norm product floored at 1e-6), θ = t·mean(θ_i) + (1 − t)·θ₀.
// `filter_wise`: one t per row (last dimension) instead of one per tensor.

import type { MergeMethod } from "../method.js";
import { bool, checkInput, tensorScope } from "./common.js";

export const modelStock: MergeMethod = {
  name: "model_stock",
  description: "Model Stock: interpolate the average toward the base by the task vectors' mean cosine",
  base: "required",
  minModels: 2,
  randomized: false,
  params: [
    {
      name: "filter_wise",
      scope: "global",
      type: "boolean",
      default: false,
      description: "One ratio per row (last dimension) instead of per tensor.",
    },
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(modelStock, input);
    const base = input.base as Float32Array;
    const models = input.models;
    const n = models.length;
    const cols =
      bool(input.params, "filter_wise") && input.shape.length >= 1 ? input.shape[input.shape.length - 1] : d;
    const rows = cols === 0 ? 0 : d / cols;
    const out = new Float32Array(d);
    const norms = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = off; k < off + cols; k++) {
          const x = models[i][k] - base[k];
          s += x * x;
        }
        norms[i] = Math.sqrt(s);
      }
      let cosSum = 0;
      let pairs = 0;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          let dot = 0;
          for (let k = off; k < off + cols; k++) dot += (models[i][k] - base[k]) * (models[j][k] - base[k]);
          const c = dot / Math.max(norms[i] * norms[j], 1e-6);
          cosSum += Math.min(1, Math.max(-1, c));
          pairs++;
        }
      }
      const cos = cosSum / pairs;
      const t = (n * cos) / (1 + (n - 1) * cos);
      for (let k = off; k < off + cols; k++) {
        let avg = 0;
        for (let i = 0; i < n; i++) avg += models[i][k];
        avg /= n;
        out[k] = t * avg + (1 - t) * base[k];
      }
    }
    return out;
  },
};
