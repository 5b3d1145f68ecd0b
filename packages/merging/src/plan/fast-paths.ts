// Choosing fast paths from what methods declare (MergeMethod.fastPaths). Pure: the checks use the
// plan, the inputs' stored dtypes and the resolved parameters only. A method object the caller passed
// in (not one from the registry) is not trusted with fast paths: it may be a modified copy whose
// `mergeTensor` no longer matches its declarations, so it always takes the general path.

import type { MergeConfig } from "../config/index.js";
import type {
  DenseLinearFastPath,
  DenseLinearPlan,
  FastDType,
  MergeMethod,
  ParamMap,
  StoredGlobalFastPath,
} from "../method.js";
import type { CheckpointPlan, PlannedOutput } from "./plan.js";

const FAST_DTYPES: readonly string[] = ["BF16", "F16", "F32"];
export const isFastDType = (d: string): d is FastDType => FAST_DTYPES.includes(d);

function declared<K extends "dense-linear" | "stored-global">(
  method: MergeMethod,
  kind: K,
): (K extends "dense-linear" ? DenseLinearFastPath : StoredGlobalFastPath) | undefined {
  return method.fastPaths?.find((f) => f.kind === kind) as never;
}

/**
 * The dense linear plan of a planned tensor when its method declares a "dense-linear" fast path that
 * covers it: a merged tensor without a block cut, a base model, stored and saved in the declared
 * dtypes, and parameters for which the declaration says the merge is dense linear.
 */
export function denseLinearChoice(
  method: MergeMethod,
  p: PlannedOutput,
  sourceDtypes: readonly string[],
  resolved: { params: ParamMap; modelParams: readonly ParamMap[] },
): DenseLinearPlan | undefined {
  const path = declared(method, "dense-linear");
  if (!path || p.kind !== "merge" || p.block || method.base === "none") return undefined;
  const ok = (d: string) => isFastDType(d) && path.dtypes.includes(d);
  if (!ok(p.outDtype) || !sourceDtypes.every(ok)) return undefined;
  return path.plan(resolved.params, resolved.modelParams);
}

export type StoredGlobalChoice =
  | {
      readonly path: StoredGlobalFastPath;
      readonly inputDtype: FastDType;
      readonly outDtype: FastDType;
      /** Plan indices of the merged tensors, in statistics order. */
      readonly order: readonly number[];
      readonly notice?: undefined;
    }
  | { readonly path?: undefined; readonly notice?: string };

/**
 * Whether a global-scope plan can take its method's "stored-global" fast path: every merged tensor in
 * the base and all models with one shape, the inputs in the declared dtypes (one dtype for all when
 * `uniformDtype`), the output that dtype or F32, no rounding `dtype`, at most `maxModels` models.
 * When the dtypes are what stands in the way, `notice` says so.
 */
export function storedGlobalChoice(
  plan: CheckpointPlan,
  config: MergeConfig,
  hasBase: boolean,
  inputDtypesOf: (index: number) => readonly string[],
): StoredGlobalChoice {
  const { method } = plan;
  const path = declared(method, "stored-global");
  const n = plan.whole.modelParams.length;
  if (!path || !hasBase || method.base === "none" || plan.scope !== "global") return {};
  if (!path.applies(plan.whole.params) || n < 1 || n > path.maxModels) return {};
  const order: number[] = [];
  const inputDtypes = new Set<string>();
  const outDtypes = new Set<string>();
  for (let i = 0; i < plan.tensors.length; i++) {
    const p = plan.tensors[i]!;
    if (p.kind !== "merge") continue;
    if (p.block || p.models.length !== n || p.models.some((mi, j) => mi !== j)) return {};
    order.push(i);
    for (const d of inputDtypesOf(i)) inputDtypes.add(d);
    outDtypes.add(p.outDtype);
  }
  if (order.length === 0) return {};
  const ins = [...inputDtypes].sort();
  const input = ins[0]!;
  if (
    (path.uniformDtype && ins.length !== 1) ||
    !ins.every((d) => isFastDType(d) && path.dtypes.includes(d))
  ) {
    const allAs = path.dtypes.map((d) => `all as ${d}`).join(", ");
    return {
      notice: `${method.name} fast path: takes inputs stored ${allAs.replace(/, ([^,]*)$/, " or $1")}, these are ${ins.join(", ")}`,
    };
  }
  if (outDtypes.size !== 1) return {};
  const out = [...outDtypes][0]!;
  if (!isFastDType(out) || (out !== input && out !== "F32")) return {};
  const cd = config.dtype;
  if (cd !== undefined && cd !== "F32" && !(cd === input && out === input)) return {};
  return { path, inputDtype: input as FastDType, outDtype: out, order };
}
