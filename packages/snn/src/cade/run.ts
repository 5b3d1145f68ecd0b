import type { ImageSet } from "@x/datasets";
import {
  DifferentialEvolution,
  DirectoryRunStore,
  type FitnessFunction,
  type GenerationRecord,
  type RunSnapshot,
  type RunStore,
} from "@x/evolution";
import { SnnConfigError } from "../errors.js";
import { genomeLayout } from "../genome/layout.js";
import type { InferenceEngine } from "../infer/net.js";
import type { ModelSpec } from "../model/spec.js";
import { armControl, armForcesJRand, type CadeArm } from "./arms.js";
import { accuracyPercent } from "./fitness.js";

export interface CadeOptions {
  readonly spec: ModelSpec;
  /** The initial population (genomes of `spec`; copied, never modified). */
  readonly population: readonly Float32Array[];
  /** Fitness = top-1 accuracy (%) on this fixed set (CADE uses training data). */
  readonly fitnessSet?: ImageSet;
  /**
   * Computes the fitness in place of the accuracy on `fitnessSet`, e.g. a distributed evaluator whose workers run
   * `cadeFitnessEvaluator` (the same accuracy on the same set). Give `fitnessSet` or `fitness`.
   */
  readonly fitness?: FitnessFunction;
  /**
   * Children evaluated at once (default 1): the next k − 1 children are evaluated speculatively while one is
   * pending, which keeps k workers of a distributed evaluator busy. The result is identical for every k.
   */
  readonly lookahead?: number;
  /** Selection set: the final model is the individual with the best accuracy here. */
  readonly val: ImageSet;
  readonly generations: number;
  readonly arm: CadeArm;
  readonly seed: number | string;
  /**
   * Skip children identical to their parent without evaluating them (default false: like CADE, every child
   * costs one fitness evaluation, so arms with equal N and G spend equal budgets).
   */
  readonly skipIdentical?: boolean;
  readonly checkpointDir?: string;
  readonly resume?: boolean;
  readonly onProgress?: (e: CadeProgress) => void;
  /** Inference engine of the fitness and validation passes (default "auto"). */
  readonly engine?: InferenceEngine;
}

/** One generation of a CADE run (also the convergence-curve point). */
export interface CadeProgress {
  readonly generation: number;
  readonly generations: number;
  /** Fitness evaluations so far, the initial population included. */
  readonly evaluations: number;
  readonly accepted: number;
  readonly bestFitness: number;
  readonly meanFitness: number;
  /** Validation accuracy (%) of the individual the run would return now (best by validation). */
  readonly bestVal: number;
  readonly f: number;
  readonly cr: number;
  readonly elapsedMs: number;
  readonly etaMs: number;
}

export interface CadeResult {
  /** Final population genomes (copies). */
  readonly population: Float32Array[];
  readonly fitness: number[];
  readonly val: number[];
  /** Index of the individual with the best validation accuracy (ties: higher fitness, then lower index). */
  readonly selected: number;
  readonly evaluations: number;
  readonly skipped: number;
  /** Best validation accuracy after the initial population (generation −1) and after every generation. */
  readonly curve: { generation: number; evaluations: number; bestFitness: number; bestVal: number }[];
  readonly history: readonly GenerationRecord[];
  readonly elapsedMs: number;
}

interface Tracker {
  fit: number[];
  val: number[];
  curve: CadeResult["curve"];
}

/**
 * Tracks validation accuracy next to the DE engine's snapshots and persists it, and rebuilds it on resume. An
 * individual's fitness changes exactly when a child replaced it (strict greedy selection, parents cached), so at
 * the end of each generation the individuals whose fitness changed are scored on validation: the decisions are
 * final here, whatever was evaluated speculatively.
 */
class TrackingStore implements RunStore {
  constructor(
    private readonly inner: RunStore | null,
    private readonly t: Tracker,
    private readonly score: (genome: Float32Array) => number,
  ) {}
  async save(snapshot: RunSnapshot, genomes: readonly Float32Array[]): Promise<void> {
    snapshot.fitness.forEach((f, i) => {
      if (!Object.is(f, this.t.fit[i])) {
        this.t.fit[i] = f;
        this.t.val[i] = this.score(genomes[i]);
      }
    });
    const g = snapshot.generation - 1;
    if (!this.t.curve.some((c) => c.generation === g)) {
      let bf = Number.NEGATIVE_INFINITY;
      for (const v of snapshot.fitness) bf = Math.max(bf, v);
      this.t.curve.push({
        generation: g,
        evaluations: snapshot.evaluations,
        bestFitness: bf,
        bestVal: Math.max(...this.t.val),
      });
    }
    await this.inner?.save({ ...snapshot, extra: { val: this.t.val, curve: this.t.curve } }, genomes);
  }
  async load(
    fingerprint: string,
    genome: (i: number) => Float32Array,
    count: number,
  ): Promise<RunSnapshot | null> {
    const snap = (await this.inner?.load(fingerprint, genome, count)) ?? null;
    if (snap) {
      const extra = snap.extra as { val: number[]; curve: CadeResult["curve"] };
      this.t.fit = [...snap.fitness];
      this.t.val = [...extra.val];
      this.t.curve = [...extra.curve];
    }
    return snap;
  }
}

/**
 * CADE's DE over a population of SNN genomes: DE/rand/1/bin (base x_r2, difference F·(x_r0 − x_r1)), binomial
 * crossover without j_rand unless the arm asks for it, sequential in-place (asynchronous) selection with
 * strict ">", F / CR from the arm's schedule. Fitness is accuracy on a fixed set, so parent scores are cached
 * (re-evaluating would return the same number); one child = one fitness evaluation. Validation accuracy is
 * tracked for every accepted child, and the returned model is the best by validation, never by test.
 */
export async function runCade(o: CadeOptions): Promise<CadeResult> {
  const n = o.population.length;
  const dim = genomeLayout(o.spec).length;
  const fitnessSet = o.fitnessSet;
  const score: FitnessFunction | undefined =
    o.fitness ?? (fitnessSet && ((genome) => accuracyPercent(o.spec, genome, fitnessSet, o.engine)));
  if (!score) throw new SnnConfigError("runCade needs a fitnessSet or a fitness function");
  if (n < 4) throw new SnnConfigError(`CADE's DE/rand/1 needs a population of at least 4, got ${n}`);
  o.population.forEach((g, i) => {
    if (g.length !== dim)
      throw new SnnConfigError(`population member ${i} has ${g.length} values, the model needs ${dim}`);
  });
  const tracker: Tracker = {
    fit: new Array(n).fill(Number.NaN),
    val: new Array(n).fill(Number.NaN),
    curve: [],
  };
  const store = new TrackingStore(
    o.checkpointDir ? new DirectoryRunStore(o.checkpointDir) : null,
    tracker,
    (genome) => accuracyPercent(o.spec, genome, o.val, o.engine),
  );
  const de = new DifferentialEvolution({
    strategy: "rand/1",
    crossover: { kind: "binomial", forceJRand: armForcesJRand(o.arm), sampling: "auto" },
    control: armControl(o.arm, o.generations),
    generations: o.generations,
    seed: o.seed,
    selection: "async",
    direction: "maximize",
    skipIdentical: o.skipIdentical ?? false,
    reevaluateParents: false,
    lookahead: o.lookahead,
    store,
    resume: o.resume ?? false,
    onProgress: (rec) => {
      gensThisCall++;
      const el = performance.now() - t0;
      o.onProgress?.({
        generation: rec.generation,
        generations: rec.generations,
        evaluations: rec.evaluations,
        accepted: rec.accepted,
        bestFitness: rec.best,
        meanFitness: rec.mean,
        bestVal: Math.max(...tracker.val),
        f: rec.f,
        cr: rec.cr,
        elapsedMs: el,
        etaMs: ((rec.generations - rec.generation - 1) * el) / gensThisCall,
      });
    },
  });
  const t0 = performance.now();
  let gensThisCall = 0;
  const result = await de.run([...o.population], score);
  const elapsedMs = performance.now() - t0;
  const fitness = Array.from(result.fitness);
  let selected = 0;
  for (let i = 1; i < n; i++) {
    const better =
      tracker.val[i] > tracker.val[selected] ||
      (tracker.val[i] === tracker.val[selected] && fitness[i] > fitness[selected]);
    if (better) selected = i;
  }
  return {
    population: result.population.genomes().map((g) => g.slice()),
    fitness,
    val: [...tracker.val],
    selected,
    evaluations: result.evaluations,
    skipped: result.skipped,
    curve: tracker.curve,
    history: result.history,
    elapsedMs,
  };
}
