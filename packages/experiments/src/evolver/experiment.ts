/**
 * The Evolver experiment (docs/evolver.md): per seed, a fresh data split, base and five domain experts; then
 *   - each expert and the best single expert by dev; the logit ensemble of the experts (N× inference cost);
 *     multi-task training from θ_0 on the union of the experts' training data (the upper bound);
 *   - Evolver mode A (standalone) vs the best single expert (and, optionally, mode A at F 0.2, CR 0.3, G 50);
 *   - for each merge M ∈ {mean, TA, TIES, DARE+TA, PCB, Fisher, RegMean} (all through the @x/merging
 *     registry): M alone (λ tuned on dev for the task-vector merges), Evolver + M (mode B, uniform
 *     reference, λ fixed at the tuned value, as the Evolver reference does: tune once before evolving; optionally also at a
 *     second F), and random Dirichlet coefficient search with M at the same number of dev evaluations as
 *     Evolver's children.
 * Every selection uses the dev split (concatenated in-domain dev sets); test sets are scored only for the
 * report, including the per-generation curves of the current output (dev-overfitting plot), which never
 * feed back into selection.
 */

import { evolve } from "@x/evolution";
import {
  coefficientMerge,
  FULL_WEIGHT_MERGES,
  MERGE_NAMES,
  type MergeName,
  type MergeSettings,
  mergeFunction,
  type SlotStats,
} from "@x/merging/evolve";
import { Rng } from "@x/tensor-core";
import { train } from "@x/zoo";
import { expertStats } from "./expert-stats.js";
import { preparedRegmean } from "./prepared-regmean.js";
import {
  buildSetup,
  concat,
  Evaluator,
  type ExperimentSizes,
  fromGenome,
  genomeLayout,
  type Setup,
  toGenome,
} from "./setup.js";

export interface ExperimentOptions {
  readonly seeds: readonly number[];
  readonly sizes: ExperimentSizes;
  /** Evolver F, CR, G (the reference's defaults for RoBERTa GLUE subsets / DeBERTa: 0.5, 0.5, 15). */
  readonly f: number;
  readonly cr: number;
  readonly generations: number;
  readonly merges: readonly MergeName[];
  readonly lambdaGrid: readonly number[];
  /** Extra mode A run with the standalone variant's settings (the reference's standalone variant: F 0.2, CR 0.3, G 50). */
  readonly modeAVariant?: { readonly f: number; readonly cr: number; readonly generations: number } | null;
  /** Extra mode B runs at this F (F ∈ {0.1, 0.5} in the design), same CR and G. */
  readonly secondF?: number | null;
  /** Samples of each expert's training data for its Fisher / Gram statistics (500 in the design). */
  readonly statsSamples?: number;
  /** Multi-task upper bound: epochs over the union of the experts' training data. */
  readonly multiTaskEpochs?: number;
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

/** Dev and test of the arm's current output after each generation (index 0 = before evolving). */
export interface GenerationCurve {
  readonly dev: number[];
  readonly idTest: number[];
  readonly oodTest: number[];
}

export interface SeedResult {
  readonly seed: number;
  readonly arms: ArmResult[];
  readonly seconds: number;
  readonly pretrainLoss: number[];
  readonly expertFinalLoss: number[];
  /** Dev score after each child evaluation of Evolver mode A and of Evolver + each merge. */
  readonly devCurves: Record<string, number[]>;
  /** Per generation: dev and test of the output individual (mode A) or merged population (mode B). */
  readonly generationCurves: Record<string, GenerationCurve>;
  /** Seconds spent per arm group (for the cost notes). */
  readonly armSeconds: Record<string, number>;
  /** Max |prepared RegMean − registry RegMean| over the genome (plain merge of the experts). */
  readonly regmeanPreparedMaxDiff?: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

type Scored = Setup & { tests: Evaluator };

function testScores(
  setup: Scored,
  acc: number[],
): Pick<ArmResult, "idTest" | "oodTest" | "idPerDomain" | "oodPerDomain"> {
  const k = setup.testPerDomain.length;
  const idPerDomain = acc.slice(0, k);
  const oodPerDomain = acc.slice(k);
  return { idTest: mean(idPerDomain), oodTest: mean(oodPerDomain), idPerDomain, oodPerDomain };
}

function scoreArm(
  setup: Scored,
  arm: string,
  g: Float32Array,
  dev: number,
  devEvaluations: number,
  extra: Partial<ArmResult> = {},
): ArmResult {
  return { arm, dev, ...testScores(setup, setup.tests.accuracy(g)), devEvaluations, ...extra };
}

/** Dirichlet(1, …, 1) weights scaled to mean 1 (so coefficient 1 everywhere is the plain merge). */
export function dirichletCoefficients(rng: Rng, n: number): Float64Array {
  const c = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    c[i] = -Math.log(1 - rng.uniform());
    s += c[i];
  }
  for (let i = 0; i < n; i++) c[i] = (n * c[i]) / s;
  return c;
}

/** Records dev/test of the current output at the end of every generation. */
function curveRecorder(setup: Scored, n: number) {
  const curve: GenerationCurve = { dev: [], idTest: [], oodTest: [] };
  return {
    curve,
    record(dev: number, g: Float32Array): void {
      const t = testScores(setup, setup.tests.accuracy(g));
      curve.dev.push(dev);
      curve.idTest.push(t.idTest);
      curve.oodTest.push(t.oodTest);
    },
    /** True when an evaluation closes a generation (no child is skipped at this genome size). */
    endsGeneration: (evaluations: number) => evaluations % n === 0,
  };
}

async function runModeA(
  setup: Scored,
  dev: (g: Float32Array) => Promise<number>,
  expertDev: readonly number[],
  p: { f: number; cr: number; generations: number; seed: string },
): Promise<{ r: Awaited<ReturnType<typeof evolve>>; curve: number[]; gens: GenerationCurve }> {
  const n = setup.experts.length;
  const scores = [...expertDev];
  const rec = curveRecorder(setup, n);
  const best = () => scores.indexOf(Math.max(...scores));
  rec.record(scores[best()], setup.experts[best()]);
  const curve: number[] = [];
  const r = await evolve(setup.experts, {
    mode: "standalone",
    f: p.f,
    cr: p.cr,
    generations: p.generations,
    seed: p.seed,
    score: dev,
    onEvaluation: (e) => {
      curve.push(e.current);
      if (e.accepted) scores[e.target] = e.childScore;
      if (rec.endsGeneration(e.evaluations)) {
        const b = best();
        rec.record(scores[b], e.population.genome(b));
      }
    },
  });
  return { r, curve, gens: rec.curve };
}

/** The merges' settings of the experiment (TIES top 20 %, DARE drop 0.9, PCB ratio 0.1, RegMean α 0.1) at λ. */
export function mergeSettings(seed: number, lambda: number, stats?: SlotStats[]): MergeSettings {
  return {
    lambda,
    tiesTopK: 0.2,
    dareDrop: 0.9,
    pcbRatio: 0.1,
    regmeanAlpha: 0.1,
    maskSeed: `dare-${seed}`,
    stats,
  };
}

export async function runSeed(seed: number, o: ExperimentOptions): Promise<SeedResult> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const built = await buildSetup(seed, o.sizes, log);
  const devEval = await Evaluator.create(built.arch, [built.dev]);
  const setup: Scored = {
    ...built,
    tests: await Evaluator.create(built.arch, [...built.testPerDomain, ...built.oodTest]),
  };
  const layout = genomeLayout(setup.arch);
  const dev = async (g: Float32Array): Promise<number> => devEval.accuracy(g)[0];
  const arms: ArmResult[] = [];
  const devCurves: Record<string, number[]> = {};
  const generationCurves: Record<string, GenerationCurve> = {};
  const armSeconds: Record<string, number> = {};
  const n = setup.experts.length;
  const childBudget = n * o.generations;
  let clock = Date.now();
  const lap = (k: string) => {
    armSeconds[k] = (Date.now() - clock) / 1000;
    clock = Date.now();
  };

  // Experts and the best single expert by dev.
  const expertDev: number[] = [];
  for (let i = 0; i < n; i++) {
    expertDev.push(await dev(setup.experts[i]));
    arms.push(scoreArm(setup, `expert ${i + 1}`, setup.experts[i], expertDev[i], 1));
  }
  const bestExpert = expertDev.indexOf(Math.max(...expertDev));
  arms.push({ ...arms[bestExpert], arm: "best single expert (dev)", devEvaluations: n });
  arms.push(scoreArm(setup, "base (pretrained)", setup.base, await dev(setup.base), 1));
  // Logit ensemble: N forward passes per input, no selection.
  arms.push({
    arm: "logit ensemble (N× cost)",
    dev: devEval.ensembleAccuracy(setup.experts)[0],
    ...testScores(setup, setup.tests.ensembleAccuracy(setup.experts)),
    devEvaluations: 1,
  });
  // Multi-task upper bound: θ_0 fine-tuned on the union of the experts' training data.
  {
    const { backbone, head } = fromGenome(setup.arch, setup.base.slice());
    const r = await train(
      setup.arch,
      backbone,
      [{ head, numClasses: 10, data: concat(setup.trainPerDomain) }],
      {
        epochs: o.multiTaskEpochs ?? o.sizes.expertEpochs,
        batchSize: 32,
        lr: 1e-3,
        seed: `evolver-multitask-${seed}`,
      },
    );
    const g = toGenome(setup.arch, r.backbone, r.heads[0]);
    arms.push(scoreArm(setup, "multi-task (union of expert data)", g, await dev(g), 1));
  }
  lap("experts, ensemble, multi-task");

  // Mode A.
  {
    const { r, curve, gens } = await runModeA(setup, dev, expertDev, {
      f: o.f,
      cr: o.cr,
      generations: o.generations,
      seed: `evolver-A-${seed}`,
    });
    devCurves["Evolver A (standalone)"] = curve;
    generationCurves["Evolver A (standalone)"] = gens;
    arms.push(
      scoreArm(setup, "Evolver A (standalone)", r.output, r.outputScore, r.evaluations, {
        accepted: r.accepted,
      }),
    );
    log(
      `seed ${seed}: Evolver A dev ${r.outputScore.toFixed(4)} (best expert ${expertDev[bestExpert].toFixed(4)})`,
    );
  }
  if (o.modeAVariant) {
    const v = o.modeAVariant;
    const arm = `Evolver A (F ${v.f}, CR ${v.cr}, G ${v.generations})`;
    const { r, curve, gens } = await runModeA(setup, dev, expertDev, {
      ...v,
      seed: `evolver-A2-${seed}`,
    });
    devCurves[arm] = curve;
    generationCurves[arm] = gens;
    arms.push(scoreArm(setup, arm, r.output, r.outputScore, r.evaluations, { accepted: r.accepted }));
  }
  lap("mode A");

  // Per-expert statistics for Fisher / RegMean, from each expert's own training data.
  let stats: SlotStats[] | undefined;
  if (o.merges.some((m) => m === "fisher" || m === "regmean")) {
    stats = [];
    for (let i = 0; i < n; i++)
      stats.push(
        await expertStats(
          setup.arch,
          layout,
          setup.experts[i],
          setup.trainPerDomain[i],
          o.statsSamples ?? 500,
        ),
      );
    lap("statistics");
  }

  const out = new Float32Array(setup.dim);
  const regmeanCheck: number[] = [];
  for (const name of o.merges) {
    const settings = (lambda: number) => mergeSettings(seed, lambda, stats);
    // M alone: λ tuned on dev (full-weight merges have none).
    const grid = FULL_WEIGHT_MERGES.has(name) ? [1] : o.lambdaGrid;
    let lambda = grid[0];
    let bestDev = Number.NEGATIVE_INFINITY;
    for (const l of grid) {
      mergeFunction(name, layout, setup.base, settings(l))(setup.experts, out);
      const s = await dev(out);
      if (s > bestDev) {
        bestDev = s;
        lambda = l;
      }
    }
    const lam = FULL_WEIGHT_MERGES.has(name) ? {} : { lambda };
    const exact = mergeFunction(name, layout, setup.base, settings(lambda));
    await exact(setup.experts, out);
    arms.push(scoreArm(setup, `${name}`, out, bestDev, grid.length, lam));
    // RegMean's repeated merges use the prepared linear operator (same merge, one solve per slot).
    const cm =
      name === "regmean"
        ? await preparedRegmean(layout, stats!, 0.1)
        : coefficientMerge(name, layout, setup.base, settings(lambda));
    const ones = new Float64Array(n).fill(1);
    const plain = (g: readonly Float32Array[], o2: Float32Array) => cm(g, ones, o2);
    if (name === "regmean") {
      const fast = new Float32Array(setup.dim);
      plain(setup.experts, fast);
      let d = 0;
      for (let k = 0; k < fast.length; k++) d = Math.max(d, Math.abs(fast[k] - out[k]));
      regmeanCheck.push(d);
      log(`seed ${seed}: prepared RegMean vs registry merge: max |Δ| ${d.toExponential(2)}`);
    }

    // Evolver + M (mode B), at F and optionally at the second F.
    const fs = o.secondF ? [o.f, o.secondF] : [o.f];
    for (const f of fs) {
      const arm = f === o.f ? `Evolver B + ${name}` : `Evolver B + ${name} (F ${f})`;
      const curve: number[] = [];
      const rec = curveRecorder(setup, n);
      const merged = new Float32Array(setup.dim);
      rec.record(bestDev, out);
      const r = await evolve(setup.experts, {
        mode: "merge",
        merge: plain,
        f,
        cr: o.cr,
        generations: o.generations,
        seed: f === o.f ? `evolver-B-${seed}-${name}` : `evolver-B-${seed}-${name}-f${f}`,
        score: dev,
        onEvaluation: async (e) => {
          curve.push(e.current);
          if (rec.endsGeneration(e.evaluations)) {
            await plain(e.population.genomes(), merged);
            rec.record(e.current, merged);
          }
        },
      });
      devCurves[arm] = curve;
      generationCurves[arm] = rec.curve;
      arms.push(
        scoreArm(setup, arm, r.output, r.outputScore, grid.length + r.evaluations, {
          ...lam,
          accepted: r.accepted,
        }),
      );
      log(
        `seed ${seed}: ${arm} ${r.outputScore.toFixed(4)} (${r.accepted} accepted; ${name} alone ${bestDev.toFixed(4)})`,
      );
    }

    // Random coefficient search at the same number of dev evaluations as Evolver's children.
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
      scoreArm(setup, `random search + ${name}`, bestWeights, bestScore, grid.length + 1 + childBudget, lam),
    );
    log(`seed ${seed}: random search + ${name} ${bestScore.toFixed(4)}`);
    lap(name);
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
    generationCurves,
    armSeconds,
    regmeanPreparedMaxDiff: regmeanCheck[0],
  };
}

export function defaultOptions(quick: boolean): Omit<ExperimentOptions, "seeds" | "sizes"> {
  return {
    f: 0.5,
    cr: 0.5,
    generations: quick ? 3 : 15,
    merges: MERGE_NAMES,
    lambdaGrid: [0.3, 0.6, 1.0, 1.5],
    modeAVariant: quick ? { f: 0.2, cr: 0.3, generations: 4 } : { f: 0.2, cr: 0.3, generations: 50 },
    secondF: 0.1,
    statsSamples: 500,
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

export function compare(all: readonly SeedResult[], a: string, b: string): Comparison {
  // Arms run only on some seeds (e.g. the optional settings) are compared on the seeds that have both.
  const has = (s: SeedResult, arm: string) => s.arms.some((x) => x.arm === arm);
  const seeds = all.filter((s) => has(s, a) && has(s, b));
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
  const have = new Set(seeds.flatMap((s) => s.arms.map((a) => a.arm)));
  const out: Comparison[] = [];
  const add = (a: string, b: string) => {
    if (have.has(a) && have.has(b)) out.push(compare(seeds, a, b));
  };
  const modeA = [...have].filter((a) => a.startsWith("Evolver A"));
  for (const a of modeA) add(a, "best single expert (dev)");
  for (const m of merges) {
    const evolved = [...have].filter((a) => a === `Evolver B + ${m}` || a.startsWith(`Evolver B + ${m} (`));
    for (const a of evolved) {
      add(a, m);
      add(a, `random search + ${m}`);
    }
    add(`random search + ${m}`, m);
  }
  // The upper bound and the N×-cost ensemble against the evolved models.
  for (const a of [...modeA, ...merges.map((m) => `Evolver B + ${m}`)]) {
    add("multi-task (union of expert data)", a);
  }
  for (const a of modeA) add("logit ensemble (N× cost)", a);
  return out;
}
