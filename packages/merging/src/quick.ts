import { parseDTypeName } from "./config/dtype.js";
import type { MergeConfig, ScalarSetting } from "./config/schema.js";
import { getMethod, listMethods } from "./method.js";

/** Merge options a command line got wrong (a missing or misplaced option); the message names the flag. */
export class MergeOptionError extends Error {
  override readonly name = "MergeOptionError";
}

/** A merge given by options instead of a config (`x merge --method ... --models ... --out ...`). */
export interface QuickMergeOptions {
  readonly method?: string;
  readonly base?: string;
  readonly models?: readonly string[];
  readonly ratio?: number;
  readonly lambda?: number;
  readonly mode?: string;
  /** Any method parameter, in order (a later one wins). */
  readonly param?: readonly (readonly [string, ScalarSetting])[];
  readonly dtype?: string;
  readonly outDtype?: string;
}

const QUICK_ONLY = ["base", "out", "ratio", "lambda", "mode", "param", "dtype", "outDtype"] as const;
const flagOf = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The config of a merge given by options: only the parameters given (the method's own defaults, e.g. PCB's
 * mode, stay the method's). No method or no models is a {@link MergeOptionError}, a bad dtype a MergeConfigError.
 */
export function quickMergeConfig(o: QuickMergeOptions): MergeConfig {
  if (!o.method)
    throw new MergeOptionError("the quick form needs --method (e.g. pcb, task_arithmetic, ties)");
  if (!o.models?.length) throw new MergeOptionError("the quick form needs --models DIR [DIR ...]");
  const parameters: Record<string, ScalarSetting> = {};
  if (o.ratio !== undefined) parameters.ratio = o.ratio;
  if (o.lambda !== undefined) parameters.lambda = o.lambda;
  if (o.mode !== undefined) parameters.mode = o.mode;
  for (const [k, v] of o.param ?? []) parameters[k] = v;
  const config: MergeConfig = {
    mergeMethod: o.method,
    models: o.models.map((model) => ({ model, parameters: {} })),
    parameters,
  };
  if (o.base !== undefined) config.baseModel = o.base;
  if (o.dtype !== undefined) config.dtype = parseDTypeName(o.dtype, "--dtype");
  if (o.outDtype !== undefined) config.outDtype = parseDTypeName(o.outDtype, "--out-dtype");
  return config;
}

/** Refuses options of the quick form (and `out`) next to a YAML config ({@link MergeOptionError}). */
export function refuseQuickOptions(o: QuickMergeOptions & { readonly out?: string }): void {
  const given = QUICK_ONLY.find((k) => o[k] !== undefined);
  if (given)
    throw new MergeOptionError(
      `${flagOf(given)} belongs to the quick form; set it in the YAML config instead`,
    );
}

/**
 * Sets the `memory_budget` parameter of `cfg`'s method (PCB streaming-global: the fast path's windows and the
 * general path's task store) to `bytes`, overriding the config's; a method without one is a
 * {@link MergeOptionError} naming those that have one.
 */
export function applyMemoryBudget(cfg: MergeConfig, bytes: number | undefined): void {
  if (bytes === undefined) return;
  const method = getMethod(cfg.mergeMethod);
  const has = (m: { params: readonly { name: string }[] }) =>
    m.params.some((p) => p.name === "memory_budget");
  if (!has(method))
    throw new MergeOptionError(
      `--memory-budget applies to methods with a memory_budget parameter (${listMethods()
        .filter(has)
        .map((m) => m.name)
        .join(", ")}), not ${method.name}`,
    );
  cfg.parameters = { ...cfg.parameters, memory_budget: bytes };
}
