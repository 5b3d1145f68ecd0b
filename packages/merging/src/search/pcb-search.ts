// λ search for PCB on in-memory task vectors: steps 1–6 (clamp, scores, W) run once through
// `pcbPrepare`; each candidate only redoes the weighted sum (step 7) and θ = θ₀ + τ_m (step 8).

import { type PcbOptions, pcbPrepare } from "../pcb/reference.js";
import {
  type CoefficientSearchOptions,
  type CoefficientSearchResult,
  searchCoefficients,
} from "./cmaes-search.js";
import type { Split } from "./evaluator.js";

export interface PcbLambdaSearchInput {
  /** θ₀, flattened (any fixed order shared with the models). */
  readonly base: Float32Array;
  /** θ_i of each fine-tuned model, flattened the same way. */
  readonly models: readonly Float32Array[];
  /** PCB options (ratio r, clamp quantile, inter variant, NaN guard). */
  readonly pcb?: PcbOptions;
  /**
   * Scores a merged model θ (flat, same order; valid only during the call — copy it to keep it).
   * Higher is better.
   */
  readonly evaluate: (merged: Float32Array, split: Split) => Promise<number> | number;
}

export interface PcbLambdaSearchResult extends CoefficientSearchResult {
  /** Number of times steps 1–6 ran (always 1: the cache is what makes the search cheap). */
  readonly prepareCount: number;
}

/** Per-task λ search for PCB (per-task mode: λ_i inside the weighted sum, no outer λ). */
export async function searchPcbLambdas(
  input: PcbLambdaSearchInput,
  options: Omit<CoefficientSearchOptions, "numTasks">,
): Promise<PcbLambdaSearchResult> {
  const d = input.base.length;
  const tasks = input.models.map((m, i) => {
    if (m.length !== d) throw new RangeError(`pcb search: model ${i} has ${m.length} values, base has ${d}`);
    const t = new Float32Array(d);
    for (let k = 0; k < d; k++) t[k] = m[k]! - input.base[k]!;
    return t;
  });
  const prepared = pcbPrepare(tasks, input.pcb ?? {});
  tasks.length = 0; // the task vectors are no longer needed: P and ΣW carry everything.
  const tau = new Float32Array(d);
  const theta = new Float32Array(d);
  const result = await searchCoefficients(
    (lambdas, split) => {
      prepared.combine(lambdas, 0, d, tau);
      for (let k = 0; k < d; k++) theta[k] = input.base[k]! + tau[k]!;
      return input.evaluate(theta, split);
    },
    { ...options, numTasks: input.models.length },
  );
  return { ...result, prepareCount: 1 };
}
