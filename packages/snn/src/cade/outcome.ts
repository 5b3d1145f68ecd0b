import type { ImageSet } from "@x/datasets";
import type { InferenceEngine } from "../infer/net.js";
import type { ModelSpec } from "../model/spec.js";
import type { CadeArm } from "./arms.js";
import { accuracyPercent } from "./fitness.js";
import type { CadeResult } from "./run.js";
import type { CadeData } from "./setup.js";

/** Validation accuracy (%) of each initial individual and the best of them (the first on ties). */
export interface InitialRanking {
  readonly val: number[];
  readonly bestByVal: number;
  readonly bestVal: number;
}

/** Scores the initial population on the validation set (the baseline a CADE run is compared with). */
export function rankInitialPopulation(
  spec: ModelSpec,
  genomes: readonly Float32Array[],
  val: ImageSet,
  engine: InferenceEngine,
): InitialRanking {
  const scores = genomes.map((g) => accuracyPercent(spec, g, val, engine));
  let best = 0;
  scores.forEach((v, i) => {
    if (v > scores[best]!) best = i;
  });
  return { val: scores, bestByVal: best, bestVal: scores[best]! };
}

/** What a CADE run ended with: the best initial and the selected individual (test accuracy with a test set). */
export interface CadeOutcome {
  readonly initial: InitialRanking & { readonly bestTest: number | null };
  readonly selected: {
    readonly index: number;
    readonly fitness: number;
    readonly val: number;
    readonly test: number | null;
  };
  /** Children accepted over the run. */
  readonly accepted: number;
}

/** The outcome of run `r` from `initial` (of `initialGenomes`), scored on `test` when there is one. */
export function cadeOutcome(
  spec: ModelSpec,
  r: CadeResult,
  initial: InitialRanking,
  initialGenomes: readonly Float32Array[],
  test: ImageSet | null,
  engine: InferenceEngine,
): CadeOutcome {
  const score = (genome: Float32Array) => (test ? accuracyPercent(spec, genome, test, engine) : null);
  const selected = {
    index: r.selected,
    fitness: r.fitness[r.selected]!,
    val: r.val[r.selected]!,
    test: score(r.population[r.selected]!),
  };
  let accepted = 0;
  for (const h of r.history) accepted += h.accepted;
  return { initial: { ...initial, bestTest: score(initialGenomes[initial.bestByVal]!) }, selected, accepted };
}

/** The settings of a CADE run that its result document repeats. */
export interface CadeRunSettings {
  /** Where the selected model was written. */
  readonly out: string;
  readonly spec: ModelSpec;
  readonly arm: CadeArm;
  readonly generations: number;
  readonly seed: number;
  readonly engine: InferenceEngine;
  /** The data set (mnist, fashion-mnist or a file) and the classes kept (null: all). */
  readonly data: string;
  readonly classes: readonly number[] | null;
}

/**
 * The result document of a CADE run (`x snn cade --json`, and what {@link formatCadeReport} prints): the
 * settings, the image counts, the initial ranking, the run's result without its genomes, the outcome and the
 * counts of the Redis queue when the run used one.
 */
export function cadeDocument(
  run: CadeRunSettings,
  sets: CadeData,
  r: CadeResult,
  outcome: CadeOutcome,
  queue: Readonly<Record<string, number>> | null,
) {
  const { population: _genomes, ...result } = r;
  return {
    out: run.out,
    spec: run.spec,
    arm: run.arm,
    generations: run.generations,
    seed: run.seed,
    engine: run.engine,
    data: {
      data: run.data,
      classes: run.classes,
      train: sets.train.count,
      val: sets.val.count,
      fitness: sets.fitnessSet.count,
      test: sets.test?.count ?? null,
    },
    initial: outcome.initial,
    ...result,
    accepted: outcome.accepted,
    selectedScores: outcome.selected,
    queue,
  };
}
