import type { ImageSet } from "@x/datasets";
import type { InferenceEngine } from "../infer/net.js";
import type { ModelSpec } from "../model/spec.js";
import { accuracyPercent } from "./fitness.js";
import type { CadeResult } from "./run.js";

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
