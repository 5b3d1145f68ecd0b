// `arcee_fusion` (mergekit): keep the other model's change only where it is important. Per tensor,
// with θ₀ the base and θ₁ the other model, softmax over the last dimension (the whole vector for 1-D
// tensors):
//   KL_r = Σ_j p_j log(p_j / q_j),  p = softmax(θ₁ row r) + 1e-8,  q = softmax(θ₀ row r) + 1e-8;
//   importance = |θ₁ − θ₀| · KL_row;
//   threshold = median + 1.5·(Q3 − Q1) of the importances, where the quantile q is the order statistic
//   at index ⌊q·(n − 1)⌋ (no interpolation);
//   θ = θ₀ + (θ₁ − θ₀) where importance ≥ threshold, else θ₀.
// mergekit estimates the quantiles of tensors above 10⁶ entries from a random sample of 10⁶; x takes
// the exact order statistics of every tensor (deterministic, same result as mergekit below 10⁶).
// KL is computed in float64 per row; importances and the threshold are float32, as in mergekit.

import { selectKths } from "@x/tensor-core/browser";
import type { MergeMethod } from "../method.js";
import { checkInput, tensorScope } from "./common.js";

const KL_EPS = 1e-8;

/** KL(softmax(p) + ε ‖ softmax(q) + ε) of one row, in float64. */
function rowKl(p: Float32Array, q: Float32Array, off: number, len: number): number {
  let mp = -Infinity;
  let mq = -Infinity;
  for (let j = off; j < off + len; j++) {
    if (p[j] > mp) mp = p[j];
    if (q[j] > mq) mq = q[j];
  }
  let sp = 0;
  let sq = 0;
  for (let j = off; j < off + len; j++) {
    sp += Math.exp(p[j] - mp);
    sq += Math.exp(q[j] - mq);
  }
  let kl = 0;
  for (let j = off; j < off + len; j++) {
    const pj = Math.exp(p[j] - mp) / sp + KL_EPS;
    const qj = Math.exp(q[j] - mq) / sq + KL_EPS;
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}

/** The fusion mask's importance threshold: median + 1.5·IQR by truncated-index order statistics. */
export function fusionThreshold(importance: Float32Array): number {
  const n = importance.length;
  const at = (q: number) => Math.trunc(q * (n - 1));
  const [q1, median, q3] = selectKths(importance, [at(0.25), at(0.5), at(0.75)]);
  return Math.fround(median + Math.fround(1.5 * Math.fround(q3 - q1)));
}

export const arceeFusion: MergeMethod = {
  name: "arcee_fusion",
  description:
    "Arcee Fusion: take the other model's change where |δ|·KL(softmax rows) reaches median + 1.5·IQR",
  base: "required",
  minModels: 1,
  maxModels: 1,
  randomized: false,
  params: [],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(arceeFusion, input);
    const base = input.base as Float32Array;
    const other = input.models[0];
    if (d === 0) return new Float32Array(0);
    const cols = input.shape.length === 0 ? 1 : input.shape[input.shape.length - 1];
    const importance = new Float32Array(d);
    for (let off = 0; off < d; off += cols) {
      const kl = rowKl(other, base, off, cols);
      for (let k = off; k < off + cols; k++) importance[k] = Math.abs(other[k] - base[k]) * kl;
    }
    const threshold = fusionThreshold(importance);
    const out = importance; // reuse: importance[k] is read before out[k] is written
    for (let k = 0; k < d; k++) out[k] = importance[k] >= threshold ? other[k] : base[k];
    return out;
  },
};
