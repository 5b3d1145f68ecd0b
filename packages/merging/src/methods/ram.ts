// `ram` and `ramplus_tl` (mergekit, Reinforced Agent Merging), per tensor. An entry of a task vector
// δ_i = θ_i − θ₀ is active where |δ_i| > epsilon. Per position, c = the number of active models:
// c = 0 keeps the base, c = 1 adds that model's δ ("unique"), c ≥ 2 adds the mean of the active δ
// ("shared"). RAM+ (tensor-local) scales each model's unique entries by
// λ_i = 1 + r·clip(ρ_i, 0, α), ρ_i = (#shared entries of model i) / max(#unique entries of model i, ε),
// with the counts taken over this tensor.

import type { MergeMethod, ParamSpec, TensorMergeInput } from "../method.js";
import { checkInput, num, tensorScope } from "./common.js";

const EPSILON: ParamSpec = {
  name: "epsilon",
  scope: "global",
  type: "number",
  default: 1e-5,
  min: 0,
  description: "A task-vector entry counts as changed where |θ_i − θ₀| > epsilon.",
};

/** Active-model count per position (at most 255 models, so a byte holds it). */
function activeCounts(input: TensorMergeInput, d: number, epsilon: number): Uint8Array {
  const base = input.base as Float32Array;
  const counts = new Uint8Array(d);
  for (const m of input.models) {
    for (let k = 0; k < d; k++) {
      if (Math.abs(m[k] - base[k]) > epsilon) counts[k]++;
    }
  }
  return counts;
}

/** θ₀ + Σ_i (unique entries of δ_i)·λ_i + Σ_i (shared entries of δ_i)/c. */
function ramMerge(
  input: TensorMergeInput,
  d: number,
  epsilon: number,
  uniqueScale: Float64Array,
): Float32Array {
  const base = input.base as Float32Array;
  const counts = activeCounts(input, d, epsilon);
  const acc = new Float64Array(d);
  input.models.forEach((m, i) => {
    const li = uniqueScale[i];
    for (let k = 0; k < d; k++) {
      const x = m[k] - base[k];
      if (!(Math.abs(x) > epsilon)) continue;
      const c = counts[k];
      acc[k] += c === 1 ? x * li : x / c;
    }
  });
  const out = new Float32Array(d);
  for (let k = 0; k < d; k++) out[k] = base[k] + acc[k];
  return out;
}

export const ram: MergeMethod = {
  name: "ram",
  description:
    "RAM: entries changed by one model are added as is, entries changed by several are averaged (|δ| > epsilon)",
  base: "required",
  minModels: 1,
  maxModels: 255,
  randomized: false,
  params: [EPSILON],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(ram, input);
    return ramMerge(input, d, num(input.params, "epsilon"), new Float64Array(input.models.length).fill(1));
  },
};

export const ramplusTl: MergeMethod = {
  name: "ramplus_tl",
  description:
    "RAM+ (tensor-local): RAM with each model's unique entries scaled by 1 + r·clip(shared/unique, 0, alpha)",
  base: "required",
  minModels: 1,
  maxModels: 255,
  randomized: false,
  params: [
    {
      name: "r",
      scope: "global",
      type: "number",
      default: 0.1,
      description: "Rescaling strength: unique entries are scaled by up to 1 + r·alpha.",
    },
    {
      name: "alpha",
      scope: "global",
      type: "number",
      default: 0.2,
      min: 0,
      description: "Upper clip of the shared/unique ratio ρ.",
    },
    EPSILON,
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(ramplusTl, input);
    const epsilon = num(input.params, "epsilon");
    const r = num(input.params, "r");
    const alpha = num(input.params, "alpha");
    const base = input.base as Float32Array;
    const counts = activeCounts(input, d, epsilon);
    const lambdas = new Float64Array(input.models.length);
    input.models.forEach((m, i) => {
      let shared = 0;
      let unique = 0;
      for (let k = 0; k < d; k++) {
        if (!(Math.abs(m[k] - base[k]) > epsilon)) continue;
        if (counts[k] === 1) unique++;
        else shared++;
      }
      const rho = shared / Math.max(unique, epsilon);
      lambdas[i] = 1 + r * Math.min(alpha, Math.max(0, rho));
    });
    return ramMerge(input, d, epsilon, lambdas);
  },
};
