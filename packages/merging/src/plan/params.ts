// Where a planned tensor's parameters come from: paths into the config (resolved against the config
// of each write, so a coefficient search can swap per-model parameters without planning again), the
// layer position t of gradients, and the tensor names that filters see. mergekit's precedence: the
// source's (or model's) own parameters, then the slice's, the module's, and the top-level ones.

import { evaluateSetting, type MergeConfig, type ParameterMap, type ScalarSetting } from "../config/index.js";
import { type MergeMethod, type ParamMap, resolveParams } from "../method.js";

/** A parameter map of the config. */
export type ParamPath =
  | { readonly kind: "top" }
  /** `models[index]` */
  | { readonly kind: "model"; readonly index: number }
  /** `modules[module]` */
  | { readonly kind: "module"; readonly module: string }
  /** `modules[module].models[index]` */
  | { readonly kind: "module-model"; readonly module: string; readonly index: number }
  /** `slices[slice]`, or `modules[module].slices[slice]` */
  | { readonly kind: "slice"; readonly module?: string; readonly slice: number }
  /** `slices[slice].sources[source]`, or the same under `modules[module]` */
  | { readonly kind: "source"; readonly module?: string; readonly slice: number; readonly source: number };

export interface ParamContext {
  /** Layer position in [0, 1] for gradients. */
  readonly t: number;
  /** Levels of the global parameters, highest precedence first (each model's own level comes before them). */
  readonly global: readonly ParamPath[];
  /** Per taking model: its own level, and the tensor name its filters see (its stored name). */
  readonly models: readonly { readonly own?: ParamPath; readonly name: string }[];
}

/** The parameter map at `path` in `config` (undefined when that level sets none). */
export function parametersAt(config: MergeConfig, path: ParamPath): ParameterMap | undefined {
  const sliceList = (module?: string) =>
    module === undefined ? config.slices : config.modules?.[module]?.slices;
  switch (path.kind) {
    case "top":
      return config.parameters;
    case "model":
      return config.models[path.index]?.parameters;
    case "module":
      return config.modules?.[path.module]?.parameters;
    case "module-model":
      return config.modules?.[path.module]?.models?.[path.index]?.parameters;
    case "slice":
      return sliceList(path.module)?.[path.slice]?.parameters;
    case "source":
      return sliceList(path.module)?.[path.slice]?.sources[path.source]?.parameters;
  }
}

/** Evaluates every setting of a parameter map for one tensor (unmatched filters drop out). */
export function evaluateAll(
  params: Readonly<Record<string, import("../config/index.js").ParameterSetting>>,
  tensorName: string,
  t: number,
): Record<string, ScalarSetting> {
  const out: Record<string, ScalarSetting> = {};
  for (const [k, setting] of Object.entries(params)) {
    const v = evaluateSetting(setting, tensorName, t);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * The raw parameters of one tensor: the global ones (levels merged by precedence; a level whose
 * filter does not match falls through to the next) and each model's own.
 */
export function rawParamsOf(
  config: MergeConfig,
  ctx: ParamContext,
  tensorName: string,
): { global: Record<string, ScalarSetting>; models: Record<string, ScalarSetting>[] } {
  const global: Record<string, ScalarSetting> = {};
  for (let i = ctx.global.length - 1; i >= 0; i--) {
    Object.assign(global, evaluateAll(parametersAt(config, ctx.global[i]!) ?? {}, tensorName, ctx.t));
  }
  const models = ctx.models.map((m) =>
    m.own ? evaluateAll(parametersAt(config, m.own) ?? {}, m.name, ctx.t) : {},
  );
  return { global, models };
}

/** A method's resolved parameters for one tensor under `config`. */
export function resolveContext(
  method: MergeMethod,
  config: MergeConfig,
  ctx: ParamContext,
  tensorName: string,
): { params: ParamMap; modelParams: ParamMap[] } {
  const raw = rawParamsOf(config, ctx, tensorName);
  return resolveParams(method, raw.global, raw.models);
}
