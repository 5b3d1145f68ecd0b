import { MergeConfigError } from "./errors.js";
import type { ConditionalParameter, MergeConfig, ParameterSetting, ScalarSetting } from "./schema.js";

function isConditional(v: unknown): v is ConditionalParameter {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function filterMatches(filter: string | undefined, tensorName: string): boolean {
  return filter === undefined || filter === "*" || (tensorName !== "" && tensorName.includes(filter));
}

/**
 * Evaluates one setting for a tensor at layer position t ∈ [0, 1] with mergekit's rules: a list of
 * numbers is a piecewise-linear gradient over t; a list of other scalars is indexed by ⌊t·(n−1)⌋;
 * conditional entries: the first whose filter is absent, `*`, or a substring of the tensor name wins.
 * Returns undefined when no conditional entry matches (the caller falls back to the next level).
 */
export function evaluateSetting(
  setting: ParameterSetting,
  tensorName: string,
  t: number,
): ScalarSetting | undefined {
  if (!Array.isArray(setting)) {
    if (isConditional(setting)) {
      return filterMatches(setting.filter, tensorName)
        ? evaluateSetting(setting.value, tensorName, t)
        : undefined;
    }
    return setting;
  }
  if (setting.length === 0) return undefined;
  if (setting.every((e) => typeof e === "number")) {
    const g = setting as number[];
    const scaled = t * (g.length - 1);
    const i0 = Math.trunc(scaled);
    const i1 = Math.min(g.length - 1, i0 + 1);
    const frac = scaled - i0;
    return (1 - frac) * g[i0]! + frac * g[i1]!;
  }
  if (setting.every((e) => !isConditional(e))) {
    return (setting as ScalarSetting[])[Math.trunc(t * (setting.length - 1))];
  }
  for (const cond of setting as ConditionalParameter[]) {
    if (filterMatches(cond.filter, tensorName)) return evaluateSetting(cond.value, tensorName, t);
  }
  return undefined;
}

const LAYER_RE = /(?:^|\.)(?:layers|layer|h|blocks|block)\.(\d+)(?:\.|$)/;

/** The transformer layer index in a tensor name (`model.layers.7.mlp...` → 7), or undefined for non-layer tensors. */
export function layerIndexOf(tensorName: string): number | undefined {
  const m = LAYER_RE.exec(tensorName);
  return m ? Number(m[1]) : undefined;
}

/** Number of layers = highest layer index + 1 among the names (0 when none are layer tensors). */
export function countLayers(tensorNames: Iterable<string>): number {
  let max = -1;
  for (const n of tensorNames) {
    const i = layerIndexOf(n);
    if (i !== undefined && i > max) max = i;
  }
  return max + 1;
}

/** t = layer / (L − 1) for layer tensors; 0 for embeddings, norms and heads outside the layers (and when L = 1). */
export function layerPosition(tensorName: string, numLayers: number): number {
  const i = layerIndexOf(tensorName);
  if (i === undefined || numLayers <= 1) return 0;
  return Math.min(1, i / (numLayers - 1));
}

/** Where a tensor sits, for parameter lookup. */
export interface TensorContext {
  tensorName: string;
  /** Layer position in [0, 1]. */
  t: number;
}

/**
 * Resolves a parameter with mergekit's precedence: the model's own `parameters` (when `modelIndex`
 * is given) → top-level `parameters` → `fallback` (the method default). A conditional list with no match
 * falls through to the next level.
 */
export function resolveParameter(
  config: MergeConfig,
  name: string,
  ctx: TensorContext,
  modelIndex?: number,
  fallback?: ScalarSetting,
): ScalarSetting | undefined {
  if (modelIndex !== undefined) {
    const own = config.models[modelIndex]?.parameters[name];
    if (own !== undefined) {
      const v = evaluateSetting(own, ctx.tensorName, ctx.t);
      if (v !== undefined) return v;
    }
  }
  const global = config.parameters[name];
  if (global !== undefined) {
    const v = evaluateSetting(global, ctx.tensorName, ctx.t);
    if (v !== undefined) return v;
  }
  return fallback;
}

/** Reads a resolved parameter as a finite number; a string or boolean is an error naming the parameter. */
export function numberParameter(
  value: ScalarSetting | undefined,
  name: string,
  where: string,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new MergeConfigError(
    `parameter '${name}' for ${where} must be a finite number, got ${JSON.stringify(value)}`,
  );
}

/** Reads a resolved parameter as a boolean (YAML true/false). */
export function booleanParameter(
  value: ScalarSetting | undefined,
  name: string,
  where: string,
): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value;
  throw new MergeConfigError(
    `parameter '${name}' for ${where} must be true or false, got ${JSON.stringify(value)}`,
  );
}
