// mergekit's "generalized task arithmetic" family, per tensor: task_arithmetic, ties, dare_linear,
// dare_ties, breadcrumbs, breadcrumbs_ties, della, della_linear. Each is one configuration of
// (sparsifier, sign consensus, default normalize/rescale); see mergekit's registry.
//
// Per tensor: δ_i = θ_i − θ₀; sparsify δ_i with its density; w_i δ_i; with consensus the elected
// sign is +1 where Σ_i w_i δ_i ≥ 0 (ties go to +) and only agreeing entries are summed; normalize
// divides by Σ w_i over the summed entries (0 → 1; without consensus |Σ w_i| < 1e-8 → 1); × λ; + θ₀.

import type { MergeMethod, ParamMap, ParamSpec, TensorMergeInput } from "../method.js";
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
  checkDella,
  dellaProbabilities,
  l1Rescale,
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

/** Options of one sparsification + merge on a single tensor (exported for reuse and tests). */
export interface GtaOptions {
  readonly sparsifier: Sparsifier;
  readonly consensus: boolean;
  readonly normalize: boolean;
  readonly rescale: boolean;
  readonly rescaleMode: RescaleMode;
  readonly lambda: number;
}

/**
 * Sparsifies δ in place according to the sparsifier (mergekit `sparsify`); returns δ.
 * `mask`/`abs`/`prob` are scratch buffers of δ's length; `injected` replaces a random draw.
 */
export function sparsifyDelta(
  delta: Float32Array,
  shape: readonly number[],
  sparsifier: Sparsifier,
  mp: ParamMap,
  opts: { rescale: boolean; rescaleMode: RescaleMode; where: string },
  rng: TensorMergeInput["rng"],
  injected: Uint8Array | undefined,
  scratch: { mask: Uint8Array; abs: Float32Array; original: Float32Array; prob?: Float32Array },
): Float32Array {
  if (sparsifier === "none") return delta;
  const density = num(mp, "density");
  if (density >= 1) return delta;
  const d = delta.length;
  const { mask, abs, original } = scratch;
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
      if (density <= 0) {
        delta.fill(0);
        return delta;
      }
      checkDella(density, epsilon, opts.where);
      prob = dellaProbabilities(
        absInto(delta, abs),
        shape,
        density,
        epsilon,
        scratch.prob ?? new Float32Array(d),
      );
      if (injected) mask.set(injected);
      else for (let i = 0; i < d; i++) mask[i] = rng.uniform() < prob[i] ? 1 : 0;
      break;
    }
  }
  if (opts.rescale && opts.rescaleMode === "l1") original.set(delta);
  for (let i = 0; i < d; i++) if (mask[i] === 0) delta[i] = 0;
  if (!opts.rescale) return delta;
  if (opts.rescaleMode === "l1") l1Rescale(original, delta);
  else if (prob) for (let i = 0; i < d; i++) delta[i] /= prob[i];
  else {
    const s = 1 / density;
    for (let i = 0; i < d; i++) delta[i] *= s;
  }
  return delta;
}

/** One generalized-task-arithmetic merge of a tensor. */
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
  const scratch = {
    mask: new Uint8Array(d),
    abs: new Float32Array(d),
    original: new Float32Array(rescale && rescaleMode === "l1" ? d : 0),
  };
  const mixed = new Float64Array(d);
  const out = new Float32Array(d);
  // Without consensus the deltas stream into the sum; with it they are kept for the sign vote.
  const kept: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const delta = consensus ? new Float32Array(d) : out; // `out` doubles as scratch until the end
    const m = models[i];
    for (let k = 0; k < d; k++) delta[k] = m[k] - base[k];
    sparsifyDelta(
      delta,
      shape,
      sparsifier,
      modelParams[i],
      { rescale, rescaleMode, where },
      rng,
      aux?.masks?.[i],
      scratch,
    );
    if (consensus) kept.push(delta);
    else {
      const wi = w[i];
      for (let k = 0; k < d; k++) mixed[k] += wi * delta[k];
    }
  }
  if (consensus) {
    const divisor = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += w[i] * kept[i][k];
      const elected = s >= 0 ? 1 : -1;
      let acc = 0;
      let div = 0;
      for (let i = 0; i < n; i++) {
        const wd = w[i] * kept[i][k];
        if (Math.sign(wd) === elected) {
          acc += wd;
          div += w[i];
        }
      }
      mixed[k] = acc;
      divisor[k] = div === 0 ? 1 : div;
    }
    if (normalize) for (let k = 0; k < d; k++) mixed[k] /= divisor[k];
  } else if (normalize) {
    let sw = 0;
    for (let i = 0; i < n; i++) sw += w[i];
    if (Math.abs(sw) < 1e-8) sw = 1;
    for (let k = 0; k < d; k++) mixed[k] /= sw;
  }
  for (let k = 0; k < d; k++) out[k] = base[k] + lambda * mixed[k];
  return out;
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
