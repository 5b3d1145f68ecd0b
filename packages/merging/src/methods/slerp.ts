// `slerp` (mergekit): spherical interpolation between the base (t = 0) and the single other model
// (t = 1) on the flattened tensor; directions from the L2-normalized copies (norm > 1e-8), plain lerp
// when |cos| > 0.9995. Float64 accumulation, float32 output.

import type { MergeMethod } from "../method.js";
import { checkInput, num, tensorScope } from "./common.js";

export function slerpVectors(t: number, v0: Float32Array, v1: Float32Array): Float32Array {
  const d = v0.length;
  let n0 = 0;
  let n1 = 0;
  let dot = 0;
  for (let k = 0; k < d; k++) {
    n0 += v0[k] * v0[k];
    n1 += v1[k] * v1[k];
    dot += v0[k] * v1[k];
  }
  n0 = Math.sqrt(n0);
  n1 = Math.sqrt(n1);
  // mergekit normalizes only when the norm exceeds eps; the dot of the normalized vectors follows.
  const c = dot / (n0 > 1e-8 ? n0 : 1) / (n1 > 1e-8 ? n1 : 1);
  const out = new Float32Array(d);
  if (Math.abs(c) > 0.9995) {
    for (let k = 0; k < d; k++) out[k] = (1 - t) * v0[k] + t * v1[k];
    return out;
  }
  const theta0 = Math.acos(c);
  const sin0 = Math.sin(theta0);
  const s0 = Math.sin(theta0 - theta0 * t) / sin0;
  const s1 = Math.sin(theta0 * t) / sin0;
  for (let k = 0; k < d; k++) out[k] = s0 * v0[k] + s1 * v1[k];
  return out;
}

export const slerp: MergeMethod = {
  name: "slerp",
  description: "Spherical linear interpolation from the base (t = 0) to the other model (t = 1)",
  base: "required",
  minModels: 1,
  maxModels: 1,
  randomized: false,
  params: [{ name: "t", scope: "global", type: "number", description: "Interpolation factor (required)." }],
  scopeOf: tensorScope,
  mergeTensor(input) {
    checkInput(slerp, input);
    return slerpVectors(num(input.params, "t"), input.base as Float32Array, input.models[0]);
  },
};
