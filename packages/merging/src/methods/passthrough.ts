// `passthrough` (mergekit): copy the single input tensor, optionally multiplied by `scale`.

import type { MergeMethod } from "../method.js";
import { checkInput, tensorScope } from "./common.js";

export const passthrough: MergeMethod = {
  name: "passthrough",
  description: "Copy the single input model's tensor, optionally scaled",
  base: "none",
  minModels: 1,
  maxModels: 1,
  randomized: false,
  params: [
    { name: "scale", scope: "model", type: "number", default: 1, description: "Multiplier (default 1)." },
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    checkInput(passthrough, input);
    const s = input.modelParams[0].scale as number;
    const src = input.models[0];
    if (s === 1) return src.slice();
    const out = new Float32Array(src.length);
    for (let k = 0; k < src.length; k++) out[k] = src[k] * s;
    return out;
  },
};
