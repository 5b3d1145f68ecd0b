/**
 * The Evolver experiment (snn.md §8): per seed, a fresh data split, base and five domain experts; then
 *   - each expert and the best single expert by dev;
 *   - Evolver mode A (standalone) vs the best single expert;
 *   - for each merge M ∈ {mean, TA, TIES, DARE+TA, PCB}: M alone (λ tuned on dev), Evolver + M (mode B,
 *     uniform reference, λ fixed at the tuned value, as §1.8 says: tune once before evolving), and random
 *     Dirichlet coefficient search with M at the same number of dev evaluations as Evolver's children.
 * Every selection uses the dev split (concatenated in-domain dev sets); test sets are scored only at the end.
 */

import { evolve } from "@x/evolution";
import { Rng } from "@x/tensor-core";
import {
  coefficientMerge,
  MERGE_NAMES,
  type MergeName,
  type MergeSettings,
  mergeFunction,
} from "./merges.js";
import { buildSetup, Evaluator, type ExperimentSizes, type Setup } from "./setup.js";

export interface ExperimentOptions {
  readonly seeds: readonly number[];
  readonly sizes: ExperimentSizes;
  /** Evolver F, CR, G (spec defaults for RoBERTa GLUE subsets / DeBERTa: 0.5, 0.5, 15). */
  readonly f: number;
  readonly cr: number;
  readonly generations: number;
  readonly merges: readonly MergeName[];
  readonly lambdaGrid: readonly number[];
  readonly log?: (m: string) => void;
}

export interface ArmResult {
  readonly arm: string;
  readonly dev: number;
  /** Mean test accuracy over the five in-domain test sets. */
  readonly idTest: number;
  /** Mean test accuracy over the five out-of-domain test sets. */
  readonly oodTest: number;
  readonly idPerDomain: number[];
  readonly oodPerDomain: number[];
  /** Dev evaluations the arm spent (tuning included where noted in the report). */
  readonly devEvaluations: number;
  readonly accepted?: number;
  readonly lambda?: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly arms: ArmResult[];
  readonly seconds: number;
  readonly pretrainLoss: number[];
  readonly expertFinalLoss: number[];
  /** Dev score after each child evaluation of Evolver mode A and of Evolver + each merge. */
  readonly devCurves: Record<string, number[]>;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function scoreArm(
  setup: Setup & { tests: Evaluator },
  arm: string,
  g: Float32Array,
  dev: number,
  devEvaluations: number,
  extra: Partial<ArmResult> = {},
): Promise<ArmResult> {
  const acc = setup.tests.accuracy(g);
  const k = setup.testPerDomain.length;
  const idPerDomain = acc.slice(0, k);
  const oodPerDomain = acc.slice(k);
  return {
    arm,
    dev,
    idTest: mean(idPerDomain),
    oodTest: mean(oodPerDomain),
    idPerDomain,
    oodPerDomain,
    devEvaluations,
    ...extra,
  };
}

/** Dirichlet(1, …, 1) weights scaled to mean 1 (so coefficient 1 everywhere is the plain merge). */
function dirichletCoefficients(rng: Rng, n: number): Float64Array {
  const c = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    c[i] = -Math.log(1 - rng.uniform());
    s += c[i];
  }
  for (let i = 0; i < n; i++) c[i] = (n * c[i]) / s;
  return c;
}

export async function runSeed(seed: number, o: ExperimentOptions): Promise<SeedResult> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const built = await buildSetup(seed, o.sizes, log);
  const devEval = await Evaluator.create(built.arch, [built.dev]);
  const setup = {
    ...built,
    tests: await Evaluator.create(built.arch, [...built.testPerDomain, ...built.oodTest]),
  };
  const dev = async (g: Float32Array): Promise<number> => devEval.accuracy(g)[0];
  const arms: ArmResult[] = [];
  const devCurves: Record<string, number[]> = {};
  const n = setup.experts.length;
  const childBudget = n * o.generations;

  // Experts and the best single expert by dev.
  const expertDev: number[] = [];
  for (let i = 0; i < n; i++) {
    expertDev.push(await dev(setup.experts[i]));
    arms.push(await scoreArm(setup, `expert ${i + 1}`, setup.experts[i], expertDev[i], 1));
  }
  const bestExpert = expertDev.indexOf(Math.max(...expertDev));
  arms.push({ ...arms[bestExpert], arm: "best single expert (dev)", devEvaluations: n });
  arms.push(await scoreArm(setup, "base (pretrained)", setup.base, await dev(setup.base), 1));

  // Mode A.
  {
    const curve: number[] = [];
    const r = await evolve(setup.experts, {
      mode: "standalone",
      f: o.f,
      cr: o.cr,
      generations: o.generations,
      seed: `evolver-A-${seed}`,
      score: dev,
      onEvaluation: (e) => {
        curve.push(e.current);
      },
    });
    devCurves["evolver A"] = curve;
    arms.push(
      await scoreArm(setup, "Evolver A (standalone)", r.output, r.outputScore, r.evaluations, {
        accepted: r.accepted,
      }),
    );
    log(
      `seed ${seed}: Evolver A dev ${r.outputScore.toFixed(4)} (best expert ${expertDev[bestExpert].toFixed(4)})`,
    );
  }

  const out = new Float32Array(setup.dim);
  for (const name of o.merges) {
    const settings = (lambda: number): MergeSettings => ({
      lambda,
      tiesTopK: 0.2,
      dareDrop: 0.9,
      pcbRatio: 0.1,
      maskSeed: `dare-${seed}`,
    });
    // M alone: λ tuned on dev (mean has no λ).
    const grid = name === "mean" ? [1] : o.lambdaGrid;
    let lambda = grid[0];
    let bestDev = Number.NEGATIVE_INFINITY;
    for (const l of grid) {
      mergeFunction(name, setup.base, settings(l))(setup.experts, out);
      const s = await dev(out);
      if (s > bestDev) {
        bestDev = s;
        lambda = l;
      }
    }
    const plain = mergeFunction(name, setup.base, settings(lambda));
    plain(setup.experts, out);
    const alone = await scoreArm(setup, `${name}`, out, bestDev, grid.length, { lambda });
    arms.push(alone);

    // Evolver + M (mode B).
    const curve: number[] = [];
    const r = await evolve(setup.experts, {
      mode: "merge",
      merge: plain,
      f: o.f,
      cr: o.cr,
      generations: o.generations,
      seed: `evolver-B-${seed}-${name}`,
      score: dev,
      onEvaluation: (e) => {
        curve.push(e.current);
      },
    });
    devCurves[`evolver B + ${name}`] = curve;
    arms.push(
      await scoreArm(setup, `Evolver B + ${name}`, r.output, r.outputScore, grid.length + r.evaluations, {
        lambda,
        accepted: r.accepted,
      }),
    );

    // Random coefficient search at the same number of dev evaluations as Evolver's children.
    const cm = coefficientMerge(name, setup.base, settings(lambda));
    const rng = new Rng(`random-search-${seed}-${name}`);
    let bestScore = bestDev;
    const bestWeights = new Float32Array(setup.dim);
    plain(setup.experts, bestWeights);
    for (let k = 0; k < childBudget; k++) {
      cm(setup.experts, dirichletCoefficients(rng, n), out);
      const s = await dev(out);
      if (s > bestScore) {
        bestScore = s;
        bestWeights.set(out);
      }
    }
    arms.push(
      await scoreArm(
        setup,
        `random search + ${name}`,
        bestWeights,
        bestScore,
        grid.length + 1 + childBudget,
        { lambda },
      ),
    );
    log(
      `seed ${seed}: ${name} λ=${lambda} dev ${bestDev.toFixed(4)} | Evolver+${name} ${r.outputScore.toFixed(4)} (${r.accepted} accepted) | random ${bestScore.toFixed(4)}`,
    );
  }
  devEval.dispose();
  setup.tests.dispose();
  return {
    seed,
    arms,
    seconds: (Date.now() - t0) / 1000,
    pretrainLoss: setup.pretrainLoss,
    expertFinalLoss: setup.expertLoss.map((l) => l[l.length - 1]),
    devCurves,
  };
}

export function defaultOptions(quick: boolean): Omit<ExperimentOptions, "seeds" | "sizes"> {
  return {
    f: 0.5,
    cr: 0.5,
    generations: quick ? 3 : 15,
    merges: MERGE_NAMES,
    lambdaGrid: [0.3, 0.6, 1.0, 1.5],
  };
}

// ---------------------------------------------------------------- statistics and report

/** Two-sided 95 % Student t quantiles for df = 1..30 (df > 30 uses the normal 1.96 + a small correction). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
export function t975(df: number): number {
  return df <= 30 ? T975[df - 1] : 1.96 + 2.4 / df;
}

export interface PairedStat {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
  readonly wins: number;
}

/** Mean paired difference a − b with a 95 % t confidence interval. */
export function pairedCi(a: readonly number[], b: readonly number[]): PairedStat {
  const d = a.map((v, i) => v - b[i]);
  const n = d.length;
  const m = mean(d);
  const sd = n > 1 ? Math.sqrt(d.reduce((s, v) => s + (v - m) ** 2, 0) / (n - 1)) : Number.NaN;
  const h = n > 1 ? (t975(n - 1) * sd) / Math.sqrt(n) : Number.NaN;
  return { mean: m, lo: m - h, hi: m + h, n, wins: d.filter((v) => v > 0).length };
}

export interface Comparison {
  readonly a: string;
  readonly b: string;
  readonly dev: PairedStat;
  readonly idTest: PairedStat;
  readonly oodTest: PairedStat;
}

export function compare(seeds: readonly SeedResult[], a: string, b: string): Comparison {
  const get = (arm: string, key: "dev" | "idTest" | "oodTest"): number[] =>
    seeds.map((s) => {
      const r = s.arms.find((x) => x.arm === arm);
      if (!r) throw new Error(`arm '${arm}' missing in seed ${s.seed}`);
      return r[key];
    });
  return {
    a,
    b,
    dev: pairedCi(get(a, "dev"), get(b, "dev")),
    idTest: pairedCi(get(a, "idTest"), get(b, "idTest")),
    oodTest: pairedCi(get(a, "oodTest"), get(b, "oodTest")),
  };
}

export function comparisons(seeds: readonly SeedResult[], merges: readonly MergeName[]): Comparison[] {
  const out = [compare(seeds, "Evolver A (standalone)", "best single expert (dev)")];
  for (const m of merges) {
    out.push(compare(seeds, `Evolver B + ${m}`, m));
    out.push(compare(seeds, `Evolver B + ${m}`, `random search + ${m}`));
    out.push(compare(seeds, `random search + ${m}`, m));
  }
  return out;
}
