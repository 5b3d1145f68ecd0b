// `nearswap` (mergekit): per parameter, take the other model's value where it is close to the base:
// w = clamp(t / max(|θ₀ − θ₁|, 1e-6), 0, 1), θ = w·θ₁ + (1 − w)·θ₀. The distance is floored at 1e-6
// as in mergekit, so with t < 1e-6 even near-identical values only move t / 1e-6 of the way.
// t must be > 0 (mergekit accepts t ≤ 0, which returns the base unchanged).

import type { MergeMethod } from "../method.js";
import { MergeMethodError } from "../method.js";
import { checkInput, num, tensorScope } from "./common.js";

/** mergekit's floor of |θ₀ − θ₁| in the swap weight. */
export const NEARSWAP_DISTANCE_MIN = 1e-6;

export const nearswap: MergeMethod = {
  name: "nearswap",
  description:
    "NearSwap: interpolate toward the other model by t / |difference| (near-identical values swap in)",
  base: "required",
  minModels: 1,
  maxModels: 1,
  randomized: false,
  params: [
    {
      name: "t",
      scope: "global",
      type: "number",
      min: Number.MIN_VALUE,
      description:
        "Sameness threshold (required, > 0): differences up to t are taken fully from the other model.",
    },
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(nearswap, input);
    const t = num(input.params, "t");
    if (!(t > 0)) throw new MergeMethodError(`nearswap: t must be > 0, got ${t}`);
    const v0 = input.base as Float32Array;
    const v1 = input.models[0];
    const out = new Float32Array(d);
    for (let k = 0; k < d; k++) {
      const w = Math.min(1, t / Math.max(Math.abs(v0[k] - v1[k]), NEARSWAP_DISTANCE_MIN));
      out[k] = w * v1[k] + (1 - w) * v0[k];
    }
    return out;
  },
};
