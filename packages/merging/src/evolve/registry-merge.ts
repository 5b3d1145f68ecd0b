/**
 * Evolver mode B merges through the @x/merging method registry, on whole-model genomes: a genome is a flat
 * float32 vector made of named tensors (a `GenomeTensor` layout), and each merge is the library's in-memory
 * merge of flat vectors (`mergeFlat`: per tensor for tensor-scope methods, through the global passes for the
 * whole-model ones, PCB-repo TIES and PCB). The tensors are views into the genomes: nothing is copied unless
 * the coefficient search has to rescale task vectors.
 *
 * Our merge names → registry methods (the Evolver reference's merge settings; docs/evolve.md in this package):
 *   mean    → linear (normalize, weights c_i)
 *   ta      → task_arithmetic (λ, weights c_i)
 *   dare    → dare_linear (density 1 − p, rescale 1/(1 − p), λ, weights c_i; keep-masks fixed per slot)
 *   ties    → ties, variant "pcb" (top-k per task over the whole model, λ; c_i scales the task vectors)
 *   pcb     → pcb, mode "reference" (ratio, nan_guard on, λ; c_i scales the task vectors)
 *   fisher  → fisher (diagonal Fisher per slot, weights c_i, floor 1e-10 as the reference smoothing)
 *   regmean → regmean (per-layer Gram matrices per slot, α = 0.1; c_i scales the Gram matrices)
 *
 * Statistics (Fisher, Gram) belong to a population *slot*, not to the genome in it: in mode B an accepted
 * child replaces its parent in the slot and keeps the parent's statistics. The slot still stands for the
 * same domain data, the child is a partial interpolation of the parent (per-scalar crossover), recomputing
 * would need that domain's training data for every child (which `x evolve` with an external evaluator
 * does not have), and fixed statistics keep the merge a deterministic function of the population.
 */

import type { MergeFunction } from "@x/evolution";
import { Rng } from "@x/tensor-core";
// The subpath entry registers the built-in methods itself (the package index does it for its importers).
import "../methods/index.js";
import { type MergeFlatAux, mergeFlat } from "../engine/merge-tensors.js";
import { getMethod, type MergeMethod, resolveParams } from "../method.js";

export type MergeName = "mean" | "ta" | "ties" | "dare" | "pcb" | "fisher" | "regmean";
export const MERGE_NAMES: readonly MergeName[] = ["mean", "ta", "ties", "dare", "pcb", "fisher", "regmean"];
/** Merges that merge full weights (no base, no λ). */
export const FULL_WEIGHT_MERGES: ReadonlySet<MergeName> = new Set(["mean", "fisher", "regmean"]);

export class MergeSetupError extends Error {
  override readonly name = "MergeSetupError";
}

/** One named tensor inside the flat genome. */
export interface GenomeTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

/** Per-slot data statistics for the data-dependent merges (aligned with the population). */
export interface SlotStats {
  /** Diagonal Fisher, genome-aligned (same length as the genome). */
  readonly fisher?: Float32Array;
  /** Gram matrix XᵀX/n ([in, in], row-major) of the inputs of each 2-D linear weight, by tensor name. */
  readonly gram?: ReadonlyMap<string, Float32Array>;
}

export interface MergeSettings {
  /** Scaling λ of the merged task vector (task-vector merges only). */
  readonly lambda: number;
  /** TIES: fraction kept per task (20 %, the Evolver reference's). */
  readonly tiesTopK?: number;
  /** DARE drop probability (0.9). */
  readonly dareDrop?: number;
  /** PCB ratio (0.1, the reference default). */
  readonly pcbRatio?: number;
  /** RegMean off-diagonal scaling α (0.1, the Evolver configs' `regmean_reduce_nondiag`). */
  readonly regmeanAlpha?: number;
  /** Fisher smoothing added to every entry (1e-10, the reference code's). */
  readonly fisherFloor?: number;
  /** DARE mask seed: fixed, so the same population always merges to the same weights. */
  readonly maskSeed?: string;
  /** Statistics per slot (required by fisher and regmean). */
  readonly stats?: readonly SlotStats[];
  /** Names the slots in error messages (model paths in `x evolve`). */
  readonly slotNames?: readonly string[];
}

/** Merge with per-model coefficients c_i (all 1 = the plain merge). */
export type CoefficientMerge = (
  genomes: readonly Float32Array[],
  coeffs: ArrayLike<number>,
  out: Float32Array,
) => void;

interface Plan {
  readonly method: MergeMethod;
  readonly global: Record<string, unknown>;
  perModel(c: ArrayLike<number>): Record<string, unknown>[];
  /** Coefficients act by scaling the task vectors (methods without per-model weights). */
  readonly scaleTaskVectors: boolean;
  /** Coefficients act by scaling the Gram matrices (RegMean). */
  readonly scaleGrams: boolean;
  readonly usesBase: boolean;
}

function planOf(name: MergeName, s: MergeSettings): Plan {
  const weights = (c: ArrayLike<number>) => Array.from(c, (w) => ({ weight: w }));
  const simple = (method: string, global: Record<string, unknown>, usesBase: boolean): Plan => ({
    method: getMethod(method),
    global,
    perModel: weights,
    scaleTaskVectors: false,
    scaleGrams: false,
    usesBase,
  });
  switch (name) {
    case "mean":
      return simple("linear", { normalize: true }, false);
    case "ta":
      return simple("task_arithmetic", { lambda: s.lambda }, true);
    case "dare": {
      const density = 1 - (s.dareDrop ?? 0.9);
      return {
        ...simple("dare_linear", { lambda: s.lambda, rescale: true, rescale_mode: "inverse" }, true),
        perModel: (c) => Array.from(c, (w) => ({ weight: w, density })),
      };
    }
    case "ties":
      return {
        method: getMethod("ties"),
        global: { variant: "pcb", lambda: s.lambda },
        perModel: (c) => Array.from(c, () => ({ density: s.tiesTopK ?? 0.2 })),
        scaleTaskVectors: true,
        scaleGrams: false,
        usesBase: true,
      };
    case "pcb":
      return {
        method: getMethod("pcb"),
        global: { mode: "reference", lambda: s.lambda, ratio: s.pcbRatio ?? 0.1, nan_guard: "on" },
        perModel: (c) => Array.from(c, () => ({})),
        scaleTaskVectors: true,
        scaleGrams: false,
        usesBase: true,
      };
    case "fisher":
      return simple("fisher", { fisher_floor: s.fisherFloor ?? 1e-10 }, false);
    case "regmean":
      return {
        method: getMethod("regmean"),
        global: { reduce_non_diagonal_ratio: s.regmeanAlpha ?? 0.1 },
        perModel: (c) => Array.from(c, () => ({})),
        scaleTaskVectors: false,
        scaleGrams: true,
        usesBase: false,
      };
    default:
      throw new MergeSetupError(`unknown merge '${String(name)}' (known: ${MERGE_NAMES.join(", ")})`);
  }
}

/** Checks that every slot has the statistics the merge needs; the error names the slot's model. */
export function checkStats(
  name: MergeName,
  layout: readonly GenomeTensor[],
  dim: number,
  n: number,
  s: MergeSettings,
): void {
  if (name !== "fisher" && name !== "regmean") return;
  const slot = (i: number) => s.slotNames?.[i] ?? `model ${i}`;
  for (let i = 0; i < n; i++) {
    const st = s.stats?.[i];
    if (name === "fisher") {
      if (!st?.fisher) throw new MergeSetupError(`fisher merge: no Fisher diagonal for ${slot(i)}`);
      if (st.fisher.length !== dim) {
        throw new MergeSetupError(
          `fisher merge: Fisher diagonal of ${slot(i)} has ${st.fisher.length} values, the genome ${dim}`,
        );
      }
    } else {
      if (!st?.gram) throw new MergeSetupError(`regmean merge: no Gram matrices for ${slot(i)}`);
      for (const t of layout) {
        const g = st.gram.get(t.name);
        if (!g) continue;
        const inDim = t.shape[1];
        if (t.shape.length !== 2 || g.length !== inDim * inDim) {
          throw new MergeSetupError(
            `regmean merge: Gram matrix of '${t.name}' for ${slot(i)} has ${g.length} values, expected ${inDim}×${inDim} for shape [${t.shape.join(", ")}]`,
          );
        }
      }
    }
  }
}

/** Fixed DARE keep-masks per slot (drawn once over the whole genome, as before the registry port). */
function dareMasks(seed: string, p: number, n: number, dim: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const r = new Rng(`${seed}-${i}`);
    const m = new Uint8Array(dim);
    for (let k = 0; k < dim; k++) m[k] = r.uniform() < p ? 0 : 1;
    return m;
  });
}

/**
 * A merge over genomes with this layout, through the registered method `name`. `base` is θ_0 (ignored by
 * the full-weight merges). The returned function writes Merge(genomes; c) into `out`.
 *
 * Without `groupOf`, `c` holds one coefficient per model. With `groupOf` (tensor index in `layout` → group),
 * `c` holds one coefficient per group and model, group-major (`c[g * n + i]`): each group of tensors (a range
 * of layers, as mergekit-evolve's `layer_granularity`) gets its own weights.
 */
export function coefficientMerge(
  name: MergeName,
  layout: readonly GenomeTensor[],
  base: Float32Array,
  s: MergeSettings,
  groupOf?: ArrayLike<number>,
): CoefficientMerge {
  const plan = planOf(name, s);
  const dim = base.length;
  const seed = 0;
  let masks: Uint8Array[] | null = null;
  let scaled: Float32Array[] = [];
  if (groupOf && groupOf.length !== layout.length)
    throw new MergeSetupError(`groupOf has ${groupOf.length} entries for ${layout.length} tensors`);
  return (genomes, c, out) => {
    const n = genomes.length;
    checkStats(name, layout, dim, n, s);
    const groups = groupOf ? c.length / n : 1;
    if (groupOf ? !Number.isInteger(groups) || groups < 1 : c.length !== n)
      throw new MergeSetupError(
        `${c.length} coefficients for ${n} models${groupOf ? " and its groups" : ""}`,
      );
    // The coefficients of each group, and the method's parameters resolved once per group.
    const coeffs = Array.from({ length: groups }, (_, g) =>
      Array.from({ length: n }, (_, i) => c[g * n + i]!),
    );
    const resolved = coeffs.map((cg) => resolveParams(plan.method, plan.global, plan.perModel(cg)));
    const groupAt = (k: number): number => (groupOf ? groupOf[k]! : 0);
    let models = genomes;
    if (plan.scaleTaskVectors && coeffs.some((cg) => cg.some((v) => v !== 1))) {
      // θ_0 + c_i τ_i: the methods without per-model weights see rescaled task vectors.
      if (scaled.length !== n) scaled = Array.from({ length: n }, () => new Float32Array(dim));
      layout.forEach((t, k) => {
        const cg = coeffs[groupAt(k)]!;
        for (let i = 0; i < n; i++) {
          const g = genomes[i];
          const d = scaled[i];
          const ci = cg[i];
          for (let x = t.offset, end = t.offset + t.size; x < end; x++)
            d[x] = base[x] + ci * (g[x] - base[x]);
        }
      });
      models = scaled;
    }
    if (name === "dare" && (!masks || masks.length !== n))
      masks = dareMasks(s.maskSeed ?? "dare", s.dareDrop ?? 0.9, n, dim);
    // Per-model inputs of the data-dependent methods, for the tensors of group g.
    const auxOf = (g: number): MergeFlatAux | undefined => {
      if (name === "dare") return { masks: masks! };
      if (name === "fisher") return { fisher: s.stats!.map((st) => st.fisher!) };
      if (name !== "regmean") return undefined;
      const cg = coeffs[g]!;
      return {
        gram: s.stats!.map((st, i) => {
          const ci = cg[i]!;
          if (ci === 1) return st.gram!;
          const scaledGrams = new Map<string, Float32Array>();
          for (const [t, gm] of st.gram!) {
            const sg = new Float32Array(gm.length);
            for (let x = 0; x < sg.length; x++) sg[x] = ci * gm[x]!;
            scaledGrams.set(t, sg);
          }
          return scaledGrams;
        }),
      };
    };
    const run = (tensors: readonly GenomeTensor[], g: number) =>
      mergeFlat(plan.method, {
        layout: tensors,
        base: plan.usesBase ? base : undefined,
        models,
        aux: auxOf(g),
        out,
        params: plan.global,
        modelParams: plan.perModel(coeffs[g]!),
        seed,
      });
    if (plan.method.scopeOf(resolved[0]!.params) !== "tensor" || !groupOf) {
      // Whole-model methods take no per-model weights here (coefficients scale the task vectors instead), so
      // one pass over every tensor merges all groups.
      run(layout, 0);
      return;
    }
    for (let g = 0; g < groups; g++) {
      const tensors = layout.filter((_, k) => groupAt(k) === g);
      if (tensors.length > 0) run(tensors, g);
    }
  };
}

/** The plain merge (all coefficients 1) as the MergeFunction @x/evolution's mode B expects. */
export function mergeFunction(
  name: MergeName,
  layout: readonly GenomeTensor[],
  base: Float32Array,
  s: MergeSettings,
): MergeFunction {
  const m = coefficientMerge(name, layout, base, s);
  let ones = new Float64Array(0);
  return (genomes, out) => {
    if (ones.length !== genomes.length) ones = new Float64Array(genomes.length).fill(1);
    m(genomes, ones, out);
  };
}
