/** Validation-only hyperparameter selection for one method, then its test accuracy at the chosen point. */
import type { ParamValue } from "@x/merging";
import type { Params } from "@x/zoo";
import type { Evaluator } from "./evaluator.js";
import { type MergeInputs, mergeBackbone } from "./merge.js";
import { differenceOf } from "./path-eval.js";
import { gridPoints, type MethodPlan } from "./plan.js";

export interface TunedResult {
  readonly params: Record<string, ParamValue | number[]>;
  readonly val: number[];
  readonly valAvg: number;
  readonly test: number[];
  readonly testAvg: number;
  /** Candidates evaluated on validation. */
  readonly candidates: number;
  readonly seconds: number;
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** θ₀ + λ·(θ₁ − θ₀) per tensor, written into `out` (allocated when absent). */
export function scaleFromBase(base: Params, merged1: Params, lambda: number, out?: Params): Params {
  const res: Params = out ?? new Map();
  for (const [k, b] of base) {
    const m = merged1.get(k)!.data;
    const o = res.get(k)?.data ?? new Float32Array(b.data.length);
    const bd = b.data;
    for (let i = 0; i < o.length; i++) o[i] = bd[i]! + lambda * (m[i]! - bd[i]!);
    if (!res.has(k)) res.set(k, { shape: b.shape, data: o });
  }
  return res;
}

export async function tuneMethod(
  plan: MethodPlan,
  inputs: MergeInputs,
  ev: Evaluator,
  seed: number,
  /** Replaces the plan's λ grid (methods that have one). */
  lambdaGrid?: readonly number[],
): Promise<TunedResult> {
  const t0 = performance.now();
  const lambdas = plan.lambdas ? (lambdaGrid ?? plan.lambdas) : undefined;
  let best:
    | { params: Record<string, ParamValue>; val: number[]; valAvg: number; backbone: Params }
    | undefined;
  let candidates = 0;
  for (const point of gridPoints(plan.grid)) {
    const params = { ...plan.fixed, ...point, ...(lambdas ? { lambda: 1 } : {}) };
    const merged = mergeBackbone(inputs, { method: plan.method, params, seed });
    if (!lambdas) {
      const val = await ev.accuracy(merged, "val");
      candidates++;
      if (!best || mean(val) > best.valAvg)
        best = { params: { ...params }, val, valAvg: mean(val), backbone: merged };
      continue;
    }
    // θ₀ + λ·(θ₁ − θ₀) for every λ, validated through the linear-path evaluator.
    const path = await ev.path("val", inputs.base, [differenceOf(merged, inputs.base)]);
    try {
      for (const lambda of lambdas) {
        const val = path.accuracy([lambda]);
        candidates++;
        const valAvg = mean(val);
        if (!best || valAvg > best.valAvg) {
          best = {
            params: { ...params, lambda },
            val,
            valAvg,
            backbone: scaleFromBase(inputs.base, merged, lambda),
          };
        }
      }
    } finally {
      path.dispose();
    }
  }
  const test = await ev.accuracy(best!.backbone, "test");
  return {
    params: best!.params,
    val: best!.val,
    valAvg: best!.valAvg,
    test,
    testAvg: mean(test),
    candidates,
    seconds: (performance.now() - t0) / 1000,
  };
}
