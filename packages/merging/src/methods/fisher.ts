// `fisher`: Fisher-weighted averaging (Matena & Raffel): θ = Σ_i w_i F_i θ_i / Σ_i w_i F_i per
// parameter, F_i the precomputed diagonal Fisher of model i (`aux.fisher`), floored at `fisher_floor`
// so parameters with no Fisher mass fall back to the weighted average. Normalizing each model's
// Fisher (FusionBench `normalize_fisher_weight`) needs whole-model norms: use `fisherMerge` on flat
// vectors with `normalize: true`, or pre-scale the diagonals.

import type { MergeMethod } from "../method.js";
import { MergeMethodError } from "../method.js";
import { checkInput, num, perModel, tensorScope, WEIGHT } from "./common.js";

export interface FisherMergeOptions {
  readonly weights?: ArrayLike<number>;
  /** Added to every Fisher entry (default 1e-6). */
  readonly floor?: number;
  /** Divide each model's Fisher by its L2 norm over the given vector first. */
  readonly normalize?: boolean;
}

/** Fisher-weighted merge of flat (or per-tensor) parameter vectors. */
export function fisherMerge(
  models: readonly Float32Array[],
  fishers: readonly Float32Array[],
  options: FisherMergeOptions = {},
  where = "fisher",
): Float32Array {
  const n = models.length;
  if (n === 0) throw new MergeMethodError(`${where}: needs at least one model`);
  if (fishers.length !== n)
    throw new MergeMethodError(`${where}: ${fishers.length} Fisher diagonals for ${n} models`);
  const d = models[0].length;
  for (let i = 0; i < n; i++) {
    if (models[i].length !== d || fishers[i].length !== d) {
      throw new MergeMethodError(
        `${where}: model ${i} has ${models[i].length} values and Fisher ${fishers[i].length}, expected ${d}`,
      );
    }
  }
  const floor = options.floor ?? 1e-6;
  const w = options.weights ?? new Float64Array(n).fill(1);
  const scale = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 1;
    if (options.normalize) {
      let sq = 0;
      for (let k = 0; k < d; k++) sq += fishers[i][k] * fishers[i][k];
      s = sq > 0 ? 1 / Math.sqrt(sq) : 1;
    }
    scale[i] = s * w[i];
  }
  const out = new Float32Array(d);
  for (let k = 0; k < d; k++) {
    let num_ = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      const fw = scale[i] * (fishers[i][k] + floor);
      num_ += fw * models[i][k];
      den += fw;
    }
    out[k] = num_ / den;
  }
  return out;
}

export const fisher: MergeMethod = {
  name: "fisher",
  description: "Fisher-weighted averaging with precomputed diagonal Fisher information (aux.fisher)",
  base: "none",
  minModels: 1,
  randomized: false,
  params: [
    WEIGHT,
    {
      name: "fisher_floor",
      scope: "global",
      type: "number",
      default: 1e-6,
      min: 0,
      description: "Added to every Fisher entry (FusionBench minimal_fisher_weight).",
    },
  ],
  auxInputs: [{ kind: "fisher", required: "every" }],
  scopeOf: tensorScope,
  mergeTensor(input) {
    checkInput(fisher, input);
    const f = input.aux?.fisher;
    if (!f) throw new MergeMethodError(`fisher: tensor '${input.name}' has no Fisher diagonals (aux.fisher)`);
    return fisherMerge(
      input.models,
      f,
      { weights: perModel(input.modelParams, "weight"), floor: num(input.params, "fisher_floor") },
      `fisher: tensor '${input.name}'`,
    );
  },
};
