// Per-task coefficient search: CMA-ES (from @x/evolution) maximizing a validation score over λ ∈ box,
// starting from a given point (the reference scripts: init 1.0, bounds [0.8, 1.3], budget 100). The
// starting point is always evaluated, so the result is never worse than it on validation. The winner is
// scored once on the test split for the report; test scores never steer the search.

import { minimizeCmaEs } from "@x/evolution";
import type { Split } from "./evaluator.js";

/** Scores coefficients λ (one per task) on a split; higher is better. */
export type CoefficientObjective = (lambdas: Float64Array, split: Split) => Promise<number> | number;

export interface CoefficientSearchOptions {
  /** Number of coefficients (tasks). */
  readonly numTasks: number;
  /** Start point: one value for all, or one per task. Default 1.0. */
  readonly init?: number | readonly number[];
  /** Box bounds per coordinate (scalars apply to all). Default [0.8, 1.3] (pcb_ES.py). */
  readonly lower?: number | readonly number[];
  readonly upper?: number | readonly number[];
  /** Validation evaluations at most, the start point included (CMA-ES runs whole generations). Default 100. */
  readonly budget?: number;
  /** Initial CMA-ES step; default a quarter of the mean box width. */
  readonly sigma0?: number;
  readonly seed?: number;
  /** Score the winner on the test split (default true). */
  readonly reportTest?: boolean;
  /** Called after every validation evaluation. */
  readonly onEvaluation?: (record: SearchRecord) => void;
}

export interface SearchRecord {
  readonly evaluation: number;
  readonly lambdas: readonly number[];
  readonly validation: number;
  readonly best: number;
}

export interface CoefficientSearchResult {
  readonly lambdas: number[];
  /** Best validation score (the selection criterion). */
  readonly validation: number;
  /** Validation score of the start point. */
  readonly initValidation: number;
  /** Test score of the winner (absent when `reportTest` is false). */
  readonly test?: number;
  readonly evaluations: number;
  readonly history: readonly SearchRecord[];
}

function vec(v: number | readonly number[] | undefined, n: number, def: number, what: string): Float64Array {
  if (v === undefined) return new Float64Array(n).fill(def);
  if (typeof v === "number") return new Float64Array(n).fill(v);
  if (v.length !== n)
    throw new RangeError(`coefficient search: ${what} has ${v.length} values for ${n} tasks`);
  return Float64Array.from(v);
}

/** Maximizes `objective` on the validation split with CMA-ES; reports the winner on test. */
export async function searchCoefficients(
  objective: CoefficientObjective,
  options: CoefficientSearchOptions,
): Promise<CoefficientSearchResult> {
  const n = options.numTasks;
  if (!(n >= 1)) throw new RangeError("coefficient search: needs at least one task");
  const lower = vec(options.lower, n, 0.8, "lower");
  const upper = vec(options.upper, n, 1.3, "upper");
  const x0 = vec(options.init, n, 1.0, "init");
  for (let i = 0; i < n; i++) {
    if (!(lower[i]! < upper[i]!)) throw new RangeError(`coefficient search: empty box for task ${i}`);
    if (x0[i]! < lower[i]! || x0[i]! > upper[i]!) {
      throw new RangeError(
        `coefficient search: init ${x0[i]} for task ${i} is outside [${lower[i]}, ${upper[i]}]`,
      );
    }
  }
  const budget = Math.max(1, Math.floor(options.budget ?? 100));
  let meanWidth = 0;
  for (let i = 0; i < n; i++) meanWidth += (upper[i]! - lower[i]!) / n;
  const history: SearchRecord[] = [];
  let best = Number.NEGATIVE_INFINITY;
  let bestX = Array.from(x0);
  const evaluate = async (x: Float64Array): Promise<number> => {
    const score = await objective(x, "validation");
    if (Number.isNaN(score))
      throw new RangeError(`coefficient search: objective returned NaN for [${[...x].join(", ")}]`);
    if (score > best) {
      best = score;
      bestX = Array.from(x);
    }
    const record = { evaluation: history.length + 1, lambdas: Array.from(x), validation: score, best };
    history.push(record);
    options.onEvaluation?.(record);
    return score;
  };
  const initValidation = await evaluate(x0);
  if (budget > 1) {
    await minimizeCmaEs(async (x) => -(await evaluate(x)), {
      x0,
      sigma0: options.sigma0 ?? meanWidth / 4,
      seed: options.seed ?? 0,
      bounds: { lower, upper },
      maxEvaluations: budget - 1,
    });
  }
  const test = (options.reportTest ?? true) ? await objective(Float64Array.from(bestX), "test") : undefined;
  return {
    lambdas: bestX,
    validation: best,
    initValidation,
    ...(test !== undefined ? { test } : {}),
    evaluations: history.length,
    history,
  };
}
