// `linear` (mergekit) / averaging (PCB repo `basic_mean`): Σ w_i θ_i, divided by Σ w_i when
// `normalize` (default). Every input — including a base model, if the config lists one among the
// models — is in `models`; weights default to 1 here (mergekit requires them), so an unweighted
// config is plain averaging.

import type { MergeMethod } from "../method.js";
import { MergeMethodError } from "../method.js";
import { bool, checkInput, normalizeSpec, perModel, tensorScope, WEIGHT } from "./common.js";

export const linear: MergeMethod = {
  name: "linear",
  description: "Weighted average of the models' parameters (averaging with default weights)",
  base: "none",
  minModels: 1,
  randomized: false,
  params: [WEIGHT, normalizeSpec(true)],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(linear, input);
    const w = perModel(input.modelParams, "weight");
    const acc = new Float64Array(d);
    input.models.forEach((m, i) => {
      const wi = w[i];
      for (let k = 0; k < d; k++) acc[k] += wi * m[k];
    });
    let scale = 1;
    if (bool(input.params, "normalize")) {
      let sw = 0;
      for (const v of w) sw += v;
      if (sw === 0) {
        throw new MergeMethodError(`linear: tensor '${input.name}': weights sum to 0, cannot normalize`);
      }
      scale = 1 / sw;
    }
    const out = new Float32Array(d);
    for (let k = 0; k < d; k++) out[k] = acc[k] * scale;
    return out;
  },
};
