// `nuslerp` (mergekit): spherical interpolation of exactly two models with t = w₂ / (w₁ + w₂)
// (0.5 when |w₁ + w₂| < 1e-6). With a base model the two task vectors are interpolated and added to
// the base. Vectors: the whole flattened tensor (`nuslerp_flatten`, default), each row along the last
// dimension, or (`nuslerp_row_wise`) each vector along the first dimension. Directions from
// x / max(‖x‖, 1e-7); angle from the clamped cosine; lerp where |sin θ| < 1e-8.

import type { MergeMethod } from "../method.js";
import { bool, checkInput, perModel, tensorScope, WEIGHT } from "./common.js";

/** SLERP of the strided vectors v0[off + j·stride], v1[...] (j < len) into out, in float64. */
function slerpStrided(
  t: number,
  v0: ArrayLike<number>,
  v1: ArrayLike<number>,
  out: Float32Array,
  off: number,
  stride: number,
  len: number,
): void {
  let n0 = 0;
  let n1 = 0;
  let dot = 0;
  for (let j = 0, k = off; j < len; j++, k += stride) {
    n0 += v0[k] * v0[k];
    n1 += v1[k] * v1[k];
    dot += v0[k] * v1[k];
  }
  const cos = dot / Math.max(Math.sqrt(n0), 1e-7) / Math.max(Math.sqrt(n1), 1e-7);
  const theta = Math.acos(Math.min(1, Math.max(-1, cos)));
  const sin = Math.sin(theta);
  let a: number;
  let b: number;
  if (Math.abs(sin) < 1e-8) {
    a = 1 - t;
    b = t;
  } else {
    a = Math.sin((1 - t) * theta) / sin;
    b = Math.sin(t * theta) / sin;
  }
  for (let j = 0, k = off; j < len; j++, k += stride) out[k] = a * v0[k] + b * v1[k];
}

export const nuslerp: MergeMethod = {
  name: "nuslerp",
  description:
    "NuSLERP: spherical interpolation of two models (or their task vectors) with t from their weights",
  base: "optional",
  minModels: 2,
  maxModels: 2,
  randomized: false,
  params: [
    {
      ...WEIGHT,
      description: "Per-model weight; t = w₂ / (w₁ + w₂) (mergekit requires it; default 1 → t = 0.5).",
    },
    {
      name: "nuslerp_flatten",
      scope: "global",
      type: "boolean",
      default: true,
      description: "Interpolate the whole flattened tensor as one vector.",
    },
    {
      name: "nuslerp_row_wise",
      scope: "global",
      type: "boolean",
      default: false,
      description: "Without flatten: vectors along the first dimension instead of the last.",
    },
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(nuslerp, input);
    const w = perModel(input.modelParams, "weight");
    const sw = w[0] + w[1];
    const t = Math.abs(sw) < 1e-6 ? 0.5 : w[1] / sw;
    const base = input.base;
    let v0: ArrayLike<number> = input.models[0];
    let v1: ArrayLike<number> = input.models[1];
    if (base) {
      const a = input.models[0];
      const b = input.models[1];
      const t0 = new Float32Array(d);
      const t1 = new Float32Array(d);
      for (let k = 0; k < d; k++) {
        t0[k] = a[k] - base[k];
        t1[k] = b[k] - base[k];
      }
      v0 = t0;
      v1 = t1;
    }
    const out = new Float32Array(d);
    const shape = input.shape;
    if (bool(input.params, "nuslerp_flatten") || shape.length === 0) slerpStrided(t, v0, v1, out, 0, 1, d);
    else if (bool(input.params, "nuslerp_row_wise")) {
      const len = shape[0];
      const stride = len === 0 ? 0 : d / len;
      for (let o = 0; o < stride; o++) slerpStrided(t, v0, v1, out, o, stride, len);
    } else {
      const len = shape[shape.length - 1];
      for (let off = 0; len > 0 && off < d; off += len) slerpStrided(t, v0, v1, out, off, 1, len);
    }
    if (base) for (let k = 0; k < d; k++) out[k] += base[k];
    return out;
  },
};
