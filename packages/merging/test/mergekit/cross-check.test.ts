// Every method x shares with mergekit, checked against an independent float64 transcription of
// mergekit's math (./reference.ts) on realistic full fine-tune tensors (task vectors of 1e-4 to 1e-3
// RMS with exact zeros and ties), stored as F32 and as BF16. x computes in float32 from the stored
// values and rounds the result to the stored dtype; the reference computes in float64 from the same
// stored values and rounds once. Set X_CROSSCHECK_PRINT=1 to print the per-method table.

import { bf16ToF32, f64ToBf16, Rng } from "@x/tensor-core";
import { afterAll, describe, expect, it } from "vitest";
import { getMethod, type ParamMap, resolveParams, tensorRng } from "../../src/index.js";
import {
  type RealisticOptions,
  type RealisticTensor,
  realisticModel,
  roundTo,
  type StoredDType,
} from "./realistic.js";
import {
  type RefInput,
  refArceeFusion,
  refDellaProbabilities,
  refGta,
  refKarcher,
  refLinear,
  refModelStock,
  refMultislerp,
  refNearswap,
  refNuslerp,
  refPassthrough,
  refRam,
  refRamPlus,
  refSce,
  refSlerp,
  type Vec,
} from "./reference.js";

interface Case {
  readonly method: string;
  readonly label: string;
  /** How many of the realistic models take part (default 3). */
  readonly models?: number;
  /** Give the base to a method whose base is optional (default true). */
  readonly withBase?: boolean;
  readonly params?: Record<string, unknown>;
  readonly modelParams?: Record<string, unknown>[];
  readonly data?: Partial<RealisticOptions>;
  /** Keep-masks for the random sparsifiers (shared by x and the reference). */
  readonly masks?: (t: RealisticTensor, models: number, rng: Rng) => Uint8Array[];
  readonly ref: (input: RefInput, masks: Uint8Array[] | undefined) => Vec;
  /** Real-arithmetic ties are broken by rounding here (only a bound on how often x differs). */
  readonly tieBreaks?: boolean;
}

// Dyadic weights: a sign vote that ties in real arithmetic (0.5 + 0.25 − 0.75 = 0) ties in every
// floating-point format too. With weights like 0.3 and 0.8 such ties are broken by rounding, differently
// by each implementation (the "non-dyadic weights" cases show how often).
const W3 = [0.5, 0.25, 0.75];
const W3_NON_DYADIC = [0.5, 0.3, 0.8];
const f64 = (x: Float32Array) => Float64Array.from(x);

function bernoulliMasks(density: number) {
  return (t: RealisticTensor, n: number, rng: Rng) =>
    Array.from({ length: n }, () => Uint8Array.from(t.base, () => (rng.uniform() < density ? 1 : 0)));
}

function dellaMasks(density: number, epsilon: number) {
  return (t: RealisticTensor, n: number, rng: Rng) =>
    t.models.slice(0, n).map((m) => {
      const delta = Float64Array.from(m, (v, k) => v - t.base[k]);
      const p = refDellaProbabilities(delta, t.shape, density, epsilon);
      return Uint8Array.from(p, (pk) => (rng.uniform() < pk ? 1 : 0));
    });
}

function gtaCase(
  method: string,
  label: string,
  sparsifier: "none" | "magnitude" | "random" | "outliers" | "della",
  consensus: boolean,
  defaults: { normalize: boolean; rescale: boolean },
  mp: { density?: number; gamma?: number; epsilon?: number },
  extra: { lambda?: number; normalize?: boolean; weights?: readonly number[]; tieBreaks?: boolean } = {},
): Case {
  const weights = extra.weights ?? W3;
  const masks =
    sparsifier === "random"
      ? bernoulliMasks(mp.density ?? 1)
      : sparsifier === "della"
        ? dellaMasks(mp.density ?? 1, mp.epsilon ?? 0.15)
        : undefined;
  return {
    method,
    label,
    params: {
      ...(extra.lambda !== undefined ? { lambda: extra.lambda } : {}),
      ...(extra.normalize !== undefined ? { normalize: extra.normalize } : {}),
    },
    modelParams: weights.map((weight) => ({ weight, ...mp })),
    masks,
    tieBreaks: extra.tieBreaks,
    ref: (input, m) =>
      refGta(input, {
        sparsifier,
        consensus,
        normalize: extra.normalize ?? defaults.normalize,
        rescale: defaults.rescale,
        lambda: extra.lambda ?? 1,
        models: weights.map((weight, i) => ({ weight, density: mp.density, gamma: mp.gamma, mask: m?.[i] })),
      }),
  };
}

const CASES: Case[] = [
  {
    method: "linear",
    label: "weights 0.5/0.25/0.75",
    modelParams: W3.map((weight) => ({ weight })),
    ref: (input) => refLinear(input, W3, true),
  },
  gtaCase(
    "task_arithmetic",
    "λ 0.7",
    "none",
    false,
    { normalize: false, rescale: false },
    {},
    { lambda: 0.7 },
  ),
  gtaCase("ties", "density 0.5", "magnitude", true, { normalize: true, rescale: false }, { density: 0.5 }),
  gtaCase("ties", "density 1", "magnitude", true, { normalize: true, rescale: false }, { density: 1 }),
  gtaCase(
    "ties",
    "density 1, non-dyadic weights 0.5/0.3/0.8",
    "magnitude",
    true,
    { normalize: true, rescale: false },
    { density: 1 },
    { weights: W3_NON_DYADIC, tieBreaks: true },
  ),
  gtaCase(
    "dare_linear",
    "density 0.6",
    "random",
    false,
    { normalize: false, rescale: true },
    { density: 0.6 },
  ),
  gtaCase("dare_ties", "density 0.6", "random", true, { normalize: false, rescale: true }, { density: 0.6 }),
  gtaCase(
    "breadcrumbs",
    "density 0.8 γ 0.05",
    "outliers",
    false,
    { normalize: false, rescale: false },
    { density: 0.8, gamma: 0.05 },
  ),
  gtaCase(
    "breadcrumbs_ties",
    "density 0.8 γ 0.05",
    "outliers",
    true,
    { normalize: false, rescale: false },
    { density: 0.8, gamma: 0.05 },
  ),
  gtaCase(
    "della",
    "density 0.5 ε 0.15",
    "della",
    true,
    { normalize: true, rescale: true },
    { density: 0.5, epsilon: 0.15 },
  ),
  gtaCase(
    "della_linear",
    "density 0.5 ε 0.15",
    "della",
    false,
    { normalize: false, rescale: true },
    { density: 0.5, epsilon: 0.15 },
  ),
  { method: "slerp", label: "t 0.3", models: 1, params: { t: 0.3 }, ref: (input) => refSlerp(input, 0.3) },
  {
    method: "nuslerp",
    label: "task vectors, flattened",
    models: 2,
    modelParams: [{ weight: 0.4 }, { weight: 0.6 }],
    ref: (input) => refNuslerp(input, [0.4, 0.6], { flatten: true, rowWise: false }),
  },
  {
    method: "nuslerp",
    label: "models, per row",
    models: 2,
    withBase: false,
    params: { nuslerp_flatten: false },
    modelParams: [{ weight: 0.4 }, { weight: 0.6 }],
    ref: (input) => refNuslerp(input, [0.4, 0.6], { flatten: false, rowWise: false }),
  },
  {
    method: "nuslerp",
    label: "task vectors, per column",
    models: 2,
    params: { nuslerp_flatten: false, nuslerp_row_wise: true },
    modelParams: [{ weight: 0.4 }, { weight: 0.6 }],
    ref: (input) => refNuslerp(input, [0.4, 0.6], { flatten: false, rowWise: true }),
  },
  { method: "model_stock", label: "per tensor", ref: (input) => refModelStock(input, false) },
  {
    method: "model_stock",
    label: "filter_wise",
    params: { filter_wise: true },
    ref: (input) => refModelStock(input, true),
  },
  {
    method: "nearswap",
    label: "t 1e-4",
    models: 1,
    params: { t: 1e-4 },
    ref: (input) => refNearswap(input, 1e-4),
  },
  {
    method: "nearswap",
    label: "t 1e-7 (floor)",
    models: 1,
    params: { t: 1e-7 },
    ref: (input) => refNearswap(input, 1e-7),
  },
  {
    method: "passthrough",
    label: "scale 0.5",
    models: 1,
    modelParams: [{ scale: 0.5 }],
    ref: (input) => refPassthrough(input, 0.5),
  },
  { method: "sce", label: "select_topk 1", ref: (input) => refSce(input, 1) },
  {
    method: "sce",
    label: "select_topk 0.5",
    params: { select_topk: 0.5 },
    ref: (input) => refSce(input, 0.5),
  },
  {
    method: "sce",
    label: "select_topk 1, 10× larger changes",
    data: { rms: [1e-3, 3e-3, 1e-2] },
    ref: (input) => refSce(input, 1),
  },
  {
    method: "karcher",
    label: "3 models",
    withBase: false,
    ref: (input) => refKarcher(input.models, 10, 1e-5),
  },
  {
    method: "karcher",
    label: "3 models + base, max_iter 50",
    params: { max_iter: 50 },
    ref: (input) => refKarcher([...input.models, input.base as Vec], 50, 1e-5),
  },
  {
    method: "multislerp",
    label: "task vectors",
    modelParams: W3.map((weight) => ({ weight })),
    ref: (input) => refMultislerp(input, W3, true, 1e-8),
  },
  {
    method: "multislerp",
    label: "models, unnormalized weights",
    withBase: false,
    params: { normalize_weights: false },
    modelParams: W3.map((weight) => ({ weight })),
    ref: (input) => refMultislerp(input, W3, false, 1e-8),
  },
  { method: "arcee_fusion", label: "", models: 1, ref: (input) => refArceeFusion(input) },
  { method: "ram", label: "dense", ref: (input) => refRam(input, 1e-5) },
  {
    method: "ram",
    label: "RL-sparse (10 % active)",
    data: { active: 0.1 },
    ref: (input) => refRam(input, 1e-5),
  },
  { method: "ramplus_tl", label: "dense", ref: (input) => refRamPlus(input, 0.1, 0.2, 1e-5) },
  {
    method: "ramplus_tl",
    label: "RL-sparse, r 0.5 α 0.4",
    data: { active: 0.1 },
    params: { r: 0.5, alpha: 0.4 },
    ref: (input) => refRamPlus(input, 0.5, 0.4, 1e-5),
  },
];

interface Stats {
  /** Largest |x − reference| and that difference over the largest |merged change| of its tensor. */
  maxAbs: number;
  maxRel: number;
  /** Largest difference in units in the last place of the tensor's largest weight (float32 or bfloat16). */
  maxScaleUlps: number;
  /** Largest per-element distance in units in the last place of the stored dtype. */
  maxUlps: number;
  mismatches: number;
  /** Entries farther apart than one step of the tensor's largest weight. */
  beyondRounding: number;
  total: number;
}

const results = new Map<string, Stats>();

function bitsOf(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}

/** Units in the last place of `dtype` between two stored values (sign-aware). */
function ulps(dtype: StoredDType, a: number, b: number): number {
  if (a === b) return 0;
  const ord = (x: number) => {
    const bits = bitsOf(x);
    const mag = dtype === "BF16" ? (bits & 0x7fffffff) >>> 16 : bits & 0x7fffffff;
    return bits >>> 31 ? -mag : mag;
  };
  return Math.abs(ord(a) - ord(b));
}

/** The spacing of `dtype` values at |x| (x a normal float32). */
function ulpAt(dtype: StoredDType, x: number): number {
  const exponent = ((bitsOf(Math.abs(x)) >>> 23) & 0xff) - 127;
  return 2 ** (exponent - (dtype === "BF16" ? 7 : 23));
}

function roundRef(dtype: StoredDType, ref: Vec): Float32Array {
  return dtype === "BF16" ? bf16ToF32(f64ToBf16(ref)) : Float32Array.from(ref);
}

function runCase(c: Case, dtype: StoredDType, seed: number): Stats {
  const method = getMethod(c.method);
  const n = c.models ?? 3;
  const withBase = method.base === "required" || (method.base === "optional" && c.withBase !== false);
  const tensors = realisticModel({ seed, dtype, ...c.data, rms: c.data?.rms });
  const stats: Stats = {
    maxAbs: 0,
    maxRel: 0,
    maxScaleUlps: 0,
    maxUlps: 0,
    mismatches: 0,
    beyondRounding: 0,
    total: 0,
  };
  const maskRng = new Rng(`masks:${seed}:${c.method}:${c.label}`);
  for (const t of tensors) {
    const models = t.models.slice(0, n);
    const masks = c.masks?.(t, n, maskRng);
    const { params, modelParams } = resolveParams(
      method,
      c.params ?? {},
      c.modelParams?.slice(0, n) ?? models.map(() => ({})),
    );
    const got = method.mergeTensor({
      name: t.name,
      shape: t.shape,
      base: method.base === "none" || !withBase ? undefined : t.base,
      models,
      modelParams: modelParams as ParamMap[],
      params,
      rng: tensorRng(seed, t.name),
      aux: masks ? { masks } : undefined,
    });
    roundTo(dtype, got);
    const refIn: RefInput = {
      shape: t.shape,
      base: withBase ? f64(t.base) : undefined,
      models: models.map(f64),
    };
    const expected = roundRef(dtype, c.ref(refIn, masks));
    // Scale of the merged change: against the base, or the first model for base-less merges.
    const anchor = withBase ? t.base : models[0];
    let change = 0;
    let weight = 0;
    for (let k = 0; k < expected.length; k++) {
      change = Math.max(change, Math.abs(expected[k] - anchor[k]));
      weight = Math.max(weight, Math.abs(expected[k]), Math.abs(anchor[k]));
    }
    const unit = ulpAt(dtype, weight);
    for (let k = 0; k < expected.length; k++) {
      const diff = Math.abs(got[k] - expected[k]);
      if (!(diff <= stats.maxAbs)) stats.maxAbs = diff;
      stats.maxRel = Math.max(stats.maxRel, change === 0 ? (diff === 0 ? 0 : Infinity) : diff / change);
      stats.maxScaleUlps = Math.max(stats.maxScaleUlps, diff / unit);
      if (got[k] !== expected[k]) stats.mismatches++;
      if (diff > unit) stats.beyondRounding++;
      stats.maxUlps = Math.max(stats.maxUlps, ulps(dtype, got[k], expected[k]));
    }
    stats.total += expected.length;
  }
  return stats;
}

const SEEDS = [1, 2, 3];

describe("mergekit cross-check on realistic task vectors", () => {
  for (const dtype of ["F32", "BF16"] as const) {
    for (const c of CASES) {
      it(`${c.method} ${c.label} (${dtype})`, () => {
        const agg: Stats = {
          maxAbs: 0,
          maxRel: 0,
          maxScaleUlps: 0,
          maxUlps: 0,
          mismatches: 0,
          beyondRounding: 0,
          total: 0,
        };
        for (const seed of SEEDS) {
          const s = runCase(c, dtype, seed);
          agg.maxAbs = Math.max(agg.maxAbs, s.maxAbs);
          agg.maxRel = Math.max(agg.maxRel, s.maxRel);
          agg.maxScaleUlps = Math.max(agg.maxScaleUlps, s.maxScaleUlps);
          agg.maxUlps = Math.max(agg.maxUlps, s.maxUlps);
          agg.mismatches += s.mismatches;
          agg.beyondRounding += s.beyondRounding;
          agg.total += s.total;
        }
        results.set(`${c.method} | ${c.label} | ${dtype}`, agg);
        if (c.tieBreaks) {
          // Only the sign votes that tie in real arithmetic may go another way.
          expect(agg.beyondRounding / agg.total).toBeLessThan(0.005);
        } else if (dtype === "F32") {
          // Rounding noise only: within one float32 step of the tensor's largest weight.
          expect(agg.maxScaleUlps).toBeLessThanOrEqual(1);
        } else {
          // One rounding of the result: at most one bfloat16 step, on a small fraction of the entries.
          expect(agg.maxUlps).toBeLessThanOrEqual(1);
          expect(agg.mismatches / agg.total).toBeLessThan(0.005);
        }
      });
    }
  }

  afterAll(() => {
    if (process.env.X_CROSSCHECK_PRINT !== "1") return;
    const rows = [...results].map(
      ([k, s]) =>
        `| ${k} | ${s.maxAbs.toExponential(2)} | ${s.maxRel.toExponential(2)} | ${s.maxScaleUlps.toFixed(2)} | ${s.maxUlps} | ${s.mismatches} / ${s.total} |`,
    );
    console.log(
      [
        "| method | case | dtype | max abs | max rel (of the change) | max (ulps of the largest weight) | max ulps | differing |",
        "|---|---|---|---|---|---|---|---|",
        ...rows,
      ].join("\n"),
    );
  });
});
