// mergekit's "generalized task arithmetic" family, per tensor: task_arithmetic, ties, dare_linear,
// dare_ties, breadcrumbs, breadcrumbs_ties, della, della_linear. Each is one configuration of
// (sparsifier, sign consensus, default normalize/rescale); see mergekit's registry.
//
// Per tensor: δ_i = θ_i − θ₀; sparsify δ_i with its density; w_i δ_i; with consensus the elected
// sign is +1 where Σ_i w_i δ_i ≥ 0 (ties go to +) and only agreeing entries are summed; normalize
// divides by Σ w_i over the summed entries (0 → 1; without consensus |Σ w_i| < 1e-8 → 1); × λ; + θ₀.

import type { DenseLinearPlan, MergeMethod, ParamMap, ParamSpec, TensorMergeInput } from "../method.js";
import { MergeMethodError } from "../method.js";
import {
  bool,
  checkInput,
  DENSITY,
  INT8_MASK,
  LAMBDA,
  normalizeSpec,
  num,
  perModel,
  rescaleSpec,
  str,
  tensorScope,
  WEIGHT,
} from "./common.js";
import {
  absInto,
  bernoulliMask,
  bernoulliMaskOf,
  checkDella,
  dellaProbabilities,
  l1Scale,
  outlierMask,
  type RescaleMode,
  topKMask,
} from "./sparsify.js";

export type Sparsifier = "none" | "magnitude" | "random" | "outliers" | "della";

const RESCALE_MODE: ParamSpec = {
  name: "rescale_mode",
  scope: "global",
  type: "string",
  default: "l1",
  choices: ["l1", "inverse"],
  description:
    "How `rescale` restores magnitude: 'l1' = mergekit (‖δ‖₁/‖mask⊙δ‖₁, skipped below 1e-7), 'inverse' = 1/p of the DARE/DELLA papers.",
};
const GAMMA: ParamSpec = {
  name: "gamma",
  scope: "model",
  type: "number",
  default: 0.01,
  min: 0,
  max: 1,
  description: "Fraction of the largest-magnitude entries removed as outliers (breadcrumbs).",
};
const EPSILON: ParamSpec = {
  name: "epsilon",
  scope: "model",
  type: "number",
  default: 0.15,
  min: 0,
  max: 1,
  description: "DELLA keep-probability spread: p ∈ [density − ε, density + ε] by magnitude rank.",
};

/**
 * The outcome of sparsifying one task vector (mergekit `sparsify`), without materializing it:
 * δ̂_k = 0 where mask_k = 0, else δ_k / prob_k (DELLA with 1/p rescale) or δ_k · scale.
 * `dense` means δ̂ = δ (density ≥ 1 or no sparsifier).
 */
export interface SparsePlan {
  readonly dense: boolean;
  readonly mask: Uint8Array;
  readonly scale: number;
  readonly prob?: Float32Array;
}

const DENSE: SparsePlan = { dense: true, mask: new Uint8Array(0), scale: 1 };

/**
 * Sparsifies δ (not modified) according to the sparsifier into `mask` and a rescale; `abs` is a
 * scratch buffer of δ's length; `injected` replaces a random draw (parity tests).
 */
export function planSparsify(
  delta: Float32Array,
  shape: readonly number[],
  sparsifier: Sparsifier,
  mp: ParamMap,
  opts: { rescale: boolean; rescaleMode: RescaleMode; where: string },
  rng: TensorMergeInput["rng"],
  injected: Uint8Array | undefined,
  abs: Float32Array,
  mask: Uint8Array,
): SparsePlan {
  if (sparsifier === "none") return DENSE;
  const density = num(mp, "density");
  if (density >= 1) return DENSE;
  const d = delta.length;
  if (injected !== undefined && injected.length !== d) {
    throw new MergeMethodError(
      `${opts.where}: injected mask has ${injected.length} entries, tensor has ${d}`,
    );
  }
  let prob: Float32Array | undefined;
  switch (sparsifier) {
    case "magnitude": {
      const k = Math.trunc(density * d);
      if (k <= 0) {
        throw new MergeMethodError(
          `${opts.where}: density ${density} keeps no entry of ${d} (mergekit asserts k > 0); raise density`,
        );
      }
      topKMask(absInto(delta, abs), k, mask);
      break;
    }
    case "random":
      if (injected) mask.set(injected);
      else bernoulliMask(rng, density, mask);
      break;
    case "outliers":
      outlierMask(absInto(delta, abs), density, num(mp, "gamma"), mask);
      break;
    case "della": {
      const epsilon = num(mp, "epsilon");
      if (density <= 0) return { dense: false, mask: mask.fill(0), scale: 0 };
      checkDella(density, epsilon, opts.where);
      prob = dellaProbabilities(absInto(delta, abs), shape, density, epsilon, new Float32Array(d));
      if (injected) mask.set(injected);
      else bernoulliMaskOf(rng, prob, mask);
      break;
    }
  }
  if (!opts.rescale) return { dense: false, mask, scale: 1 };
  if (opts.rescaleMode === "inverse")
    return prob ? { dense: false, mask, scale: 1, prob } : { dense: false, mask, scale: 1 / density };
  return { dense: false, mask, scale: l1Scale(delta, mask) };
}

/** Sparsifies δ in place (convenience form of `planSparsify`); returns δ. */
export function sparsifyDelta(
  delta: Float32Array,
  shape: readonly number[],
  sparsifier: Sparsifier,
  mp: ParamMap,
  opts: { rescale: boolean; rescaleMode: RescaleMode; where: string },
  rng: TensorMergeInput["rng"],
  injected?: Uint8Array,
): Float32Array {
  const d = delta.length;
  const plan = planSparsify(
    delta,
    shape,
    sparsifier,
    mp,
    opts,
    rng,
    injected,
    new Float32Array(d),
    new Uint8Array(d),
  );
  applyPlan(plan, delta);
  return delta;
}

/**
 * One generalized-task-arithmetic merge of a tensor. Working memory besides the inputs and the
 * output: one float32 delta, one float32 scratch, and a byte mask per model when sparsifying —
 * sparsified deltas are recomputed from (θ_i − θ₀, mask, scale) instead of being stored.
 */
export function gtaMergeTensor(
  method: MergeMethod,
  sparsifier: Sparsifier,
  input: TensorMergeInput,
): Float32Array {
  const d = checkInput(method, input);
  const base = input.base as Float32Array;
  const { models, modelParams, params, shape, rng, aux } = input;
  const where = `${method.name}: tensor '${input.name}'`;
  const n = models.length;
  const w = perModel(modelParams, "weight");
  const normalize = bool(params, "normalize");
  const rescale = bool(params, "rescale");
  const rescaleMode = str(params, "rescale_mode") as RescaleMode;
  const lambda = num(params, "lambda");
  const consensus = CONSENSUS.has(method.name);
  const sparse = sparsifier !== "none" && modelParams.some((mp) => num(mp, "density") < 1);
  if (!sparse && !consensus) return denseLinearMerge(base, models, w, d, normalize, lambda);
  const delta = new Float32Array(d);
  const abs = sparse ? new Float32Array(d) : undefined;
  const sharedMask = sparse && !consensus ? new Uint8Array(d) : undefined;
  const deltaOf = (i: number) => {
    const m = models[i];
    for (let k = 0; k < d; k++) delta[k] = m[k] - base[k];
    return delta;
  };
  // Pass 1. Without consensus: acc = Σ w_i δ̂_i. With consensus: acc = the sign-vote sum, same formula.
  const acc = new Float32Array(d);
  const plans: SparsePlan[] = [];
  for (let i = 0; i < n; i++) {
    deltaOf(i);
    const mask = sparse ? (sharedMask ?? new Uint8Array(d)) : DENSE.mask;
    const plan = planSparsify(
      delta,
      shape,
      sparsifier,
      modelParams[i],
      { rescale, rescaleMode, where },
      rng,
      aux?.masks?.[i],
      abs ?? delta,
      mask,
    );
    plans.push(plan);
    applyPlan(plan, delta);
    const wi = w[i];
    for (let k = 0; k < d; k++) acc[k] += wi * delta[k];
  }
  if (!consensus) {
    let scale = lambda;
    if (normalize) {
      let sw = 0;
      for (let i = 0; i < n; i++) sw += w[i];
      scale = lambda / (Math.abs(sw) < 1e-8 ? 1 : sw);
    }
    for (let k = 0; k < d; k++) acc[k] = base[k] + scale * acc[k];
    return acc;
  }
  // Consensus: elected sign +1 where the vote sum ≥ 0 (ties → +); pass 2 recomputes each δ̂_i
  // (same expression, same bits) and sums the strictly agreeing w_i δ̂_i and their weights.
  const elected = acc;
  for (let k = 0; k < d; k++) elected[k] = elected[k] >= 0 ? 1 : -1;
  const mixed = abs ?? new Float32Array(d);
  mixed.fill(0);
  const div = new Float32Array(d);
  for (let i = 0; i < n; i++) {
    deltaOf(i);
    applyPlan(plans[i], delta);
    const wi = w[i];
    for (let k = 0; k < d; k++) {
      const wd = wi * delta[k];
      if (wd * elected[k] > 0) {
        mixed[k] += wd;
        div[k] += wi;
      }
    }
  }
  const out = acc;
  for (let k = 0; k < d; k++) {
    const dv = div[k];
    out[k] = base[k] + lambda * (normalize ? mixed[k] / (dv === 0 ? 1 : dv) : mixed[k]);
  }
  return out;
}

/**
 * Dense, consensus-free path (task_arithmetic and friends at density 1): one fused pass per model
 * into the output buffer, no delta buffer. Math.fround reproduces the float32 rounding of the
 * stored δ_i of the general path, so the result is bit-identical to it.
 */
function denseLinearMerge(
  base: Float32Array,
  models: readonly Float32Array[],
  w: ArrayLike<number>,
  d: number,
  normalize: boolean,
  lambda: number,
): Float32Array {
  const acc = new Float32Array(d);
  for (let i = 0; i < models.length; i++) {
    const m = models[i];
    const wi = w[i];
    for (let k = 0; k < d; k++) acc[k] += wi * Math.fround(m[k] - base[k]);
  }
  const scale = linearScale(w, normalize, lambda);
  for (let k = 0; k < d; k++) acc[k] = base[k] + scale * acc[k];
  return acc;
}

/**
 * The dense linear plan of a tensor merge of this family, when it takes the dense, consensus-free path
 * (`denseLinearMerge`) with these resolved parameters: the declaration of the methods' "dense-linear"
 * fast path (the executor runs the same arithmetic fused with decoding, bit-identical to `mergeTensor`).
 */
function denseLinearPlanOf(
  sparsifier: Sparsifier,
  consensus: boolean,
  minModels: number,
  params: ParamMap,
  modelParams: readonly ParamMap[],
): DenseLinearPlan | undefined {
  if (consensus || modelParams.length < minModels) return undefined;
  if (sparsifier !== "none" && modelParams.some((mp) => num(mp, "density") < 1)) return undefined;
  const weights = perModel(modelParams, "weight");
  return { weights, scale: linearScale(weights, bool(params, "normalize"), num(params, "lambda")) };
}

/** λ, divided by Σ w_i when normalizing (a sum below 1e-8 in magnitude counts as 1). */
function linearScale(w: ArrayLike<number>, normalize: boolean, lambda: number): number {
  if (!normalize) return lambda;
  let sw = 0;
  for (let i = 0; i < w.length; i++) sw += w[i];
  return lambda / (Math.abs(sw) < 1e-8 ? 1 : sw);
}

/** Replaces δ by δ̂ in place (the `sparseValue` expression, in specialized loops). */
function applyPlan(plan: SparsePlan, delta: Float32Array): void {
  if (plan.dense) return;
  const { mask, prob, scale } = plan;
  const d = delta.length;
  if (prob) for (let k = 0; k < d; k++) delta[k] = mask[k] === 0 ? 0 : delta[k] / prob[k];
  else for (let k = 0; k < d; k++) delta[k] = mask[k] === 0 ? 0 : delta[k] * scale;
}

const CONSENSUS = new Set(["ties", "dare_ties", "breadcrumbs_ties", "della"]);

function gtaMethod(
  name: string,
  description: string,
  sparsifier: Sparsifier,
  normalizeDefault: boolean,
  rescaleDefault: boolean,
  extra: readonly ParamSpec[] = [],
): MergeMethod {
  const method: MergeMethod = {
    name,
    description,
    base: "required",
    minModels: 1,
    params: [
      WEIGHT,
      DENSITY,
      ...extra,
      LAMBDA,
      normalizeSpec(normalizeDefault),
      rescaleSpec(rescaleDefault),
      RESCALE_MODE,
      INT8_MASK,
    ],
    randomized: sparsifier === "random" || sparsifier === "della",
    scopeOf: tensorScope,
    mergeTensor: (input) => gtaMergeTensor(method, sparsifier, input),
    fastPaths: [
      {
        kind: "dense-linear",
        scope: "tensor",
        dtypes: ["BF16", "F16", "F32"],
        plan: (params, modelParams) =>
          denseLinearPlanOf(sparsifier, CONSENSUS.has(name), 1, params, modelParams),
      },
    ],
    validate(_params, modelParams) {
      if (sparsifier !== "della") return;
      modelParams.forEach((mp, i) => {
        checkDella(num(mp, "density"), num(mp, "epsilon"), `${name}: model ${i}`);
      });
    },
  };
  return method;
}

export const taskArithmetic = gtaMethod(
  "task_arithmetic",
  "θ₀ + λ·Σ w_i (θ_i − θ₀) (density is accepted and ignored, as in mergekit)",
  "none",
  false,
  false,
);
export const tiesMergekit = gtaMethod(
  "ties",
  "TIES (mergekit): per-tensor magnitude top-k by density, sign consensus (ties → +), normalized sum",
  "magnitude",
  true,
  false,
);
export const dareLinear = gtaMethod(
  "dare_linear",
  "DARE: Bernoulli(density) keep-mask per task vector, rescaled, weighted sum",
  "random",
  false,
  true,
);
export const dareTies = gtaMethod("dare_ties", "DARE + TIES sign consensus", "random", false, true);
export const breadcrumbs = gtaMethod(
  "breadcrumbs",
  "Model Breadcrumbs: drop the top-γ and the smallest magnitudes to keep `density`, weighted sum",
  "outliers",
  false,
  false,
  [GAMMA],
);
export const breadcrumbsTies = gtaMethod(
  "breadcrumbs_ties",
  "Model Breadcrumbs + TIES sign consensus",
  "outliers",
  false,
  false,
  [GAMMA],
);
export const della = gtaMethod(
  "della",
  "DELLA: per-row magnitude-rank keep probabilities in [density − ε, density + ε], rescaled, sign consensus",
  "della",
  true,
  true,
  [EPSILON],
);
export const dellaLinear = gtaMethod("della_linear", "DELLA without sign consensus", "della", false, true, [
  EPSILON,
]);
