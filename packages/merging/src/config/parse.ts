import { parse as parseYaml } from "yaml";
import { parseDTypeName } from "./dtype.js";
import { MergeConfigError } from "./errors.js";
import type {
  ConditionalParameter,
  MergeConfig,
  ModelEntry,
  ParameterMap,
  ParameterSetting,
  ScalarSetting,
} from "./schema.js";

const TOP_LEVEL = new Set([
  "models",
  "base_model",
  "merge_method",
  "parameters",
  "dtype",
  "out_dtype",
  "tokenizer_source",
]);
/** mergekit keys that are valid there but outside the subset this tool implements. */
const UNSUPPORTED = new Set(["slices", "modules", "tokenizer", "chat_template"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is ScalarSetting {
  return typeof v === "number" || typeof v === "boolean" || typeof v === "string";
}

function checkKeys(obj: Record<string, unknown>, allowed: Set<string>, where: string, source?: string): void {
  const unknown = Object.keys(obj).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    throw new MergeConfigError(
      `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${k}'`).join(", ")} in ${where} (allowed: ${[...allowed].join(", ")})`,
      source,
    );
  }
}

function parseModelRef(v: unknown, where: string, source?: string): string {
  if (typeof v !== "string" || v.trim() === "") {
    throw new MergeConfigError(`${where} must be a model path string, got ${JSON.stringify(v)}`, source);
  }
  return v;
}

function parseConditional(v: unknown, where: string, source?: string): ConditionalParameter {
  if (!isObject(v)) throw new MergeConfigError(`${where} must be a {filter, value} entry`, source);
  checkKeys(v, new Set(["filter", "value"]), where, source);
  if (!("value" in v)) throw new MergeConfigError(`${where} has no 'value'`, source);
  const out: ConditionalParameter = { value: parseLeaf(v.value, `${where}.value`, source) };
  if (v.filter !== undefined && v.filter !== null) {
    if (typeof v.filter !== "string") throw new MergeConfigError(`${where}.filter must be a string`, source);
    out.filter = v.filter;
  }
  return out;
}

/** A scalar or a gradient list (the `value` of a conditional entry). */
function parseLeaf(v: unknown, where: string, source?: string): ScalarSetting | ScalarSetting[] {
  if (isScalar(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every(isScalar)) return v as ScalarSetting[];
  throw new MergeConfigError(
    `${where} must be a number, boolean, string or a non-empty list of them, got ${JSON.stringify(v)}`,
    source,
  );
}

function parseSetting(v: unknown, where: string, source?: string): ParameterSetting {
  if (isScalar(v)) return v;
  if (isObject(v)) return parseConditional(v, where, source);
  if (Array.isArray(v) && v.length > 0) {
    if (v.every(isScalar)) return v as ScalarSetting[];
    if (v.every(isObject)) return v.map((e, i) => parseConditional(e, `${where}[${i}]`, source));
  }
  throw new MergeConfigError(
    `${where} must be a scalar, a gradient list, or a list of {filter, value} entries, got ${JSON.stringify(v)}`,
    source,
  );
}

function parseParameters(v: unknown, where: string, source?: string): ParameterMap {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new MergeConfigError(`${where} must be a mapping of parameter names`, source);
  const out: ParameterMap = {};
  for (const [k, val] of Object.entries(v)) out[k] = parseSetting(val, `${where}.${k}`, source);
  return out;
}

function parseModels(v: unknown, source?: string): ModelEntry[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new MergeConfigError("'models' must be a non-empty list of {model, parameters} entries", source);
  }
  return v.map((entry, i) => {
    const where = `models[${i}]`;
    // A bare string is accepted as shorthand for {model: <string>}.
    if (typeof entry === "string") return { model: parseModelRef(entry, where, source), parameters: {} };
    if (!isObject(entry)) throw new MergeConfigError(`${where} must be a {model, parameters} entry`, source);
    checkKeys(entry, new Set(["model", "parameters"]), where, source);
    return {
      model: parseModelRef(entry.model, `${where}.model`, source),
      parameters: parseParameters(entry.parameters, `${where}.parameters`, source),
    };
  });
}

/**
 * Validates a mergekit-style config object (snake_case keys, as parsed from YAML). Unknown keys are an
 * error that names them; mergekit keys outside the supported subset are named as unsupported.
 */
export function validateMergeConfig(raw: unknown, source?: string): MergeConfig {
  if (!isObject(raw)) throw new MergeConfigError("a merge config must be a YAML mapping", source);
  const unsupported = Object.keys(raw).filter((k) => UNSUPPORTED.has(k));
  if (unsupported.length > 0) {
    throw new MergeConfigError(
      `mergekit key${unsupported.length > 1 ? "s" : ""} ${unsupported.map((k) => `'${k}'`).join(", ")} not supported (use 'models' with per-model 'parameters')`,
      source,
    );
  }
  checkKeys(raw, TOP_LEVEL, "the config", source);
  if (typeof raw.merge_method !== "string" || raw.merge_method === "") {
    throw new MergeConfigError(
      "'merge_method' is required (a method name such as task_arithmetic, ties or pcb)",
      source,
    );
  }
  const config: MergeConfig = {
    mergeMethod: raw.merge_method,
    models: parseModels(raw.models, source),
    parameters: parseParameters(raw.parameters, "parameters", source),
  };
  if (raw.base_model !== undefined && raw.base_model !== null) {
    config.baseModel = parseModelRef(raw.base_model, "'base_model'", source);
  }
  if (raw.dtype !== undefined && raw.dtype !== null)
    config.dtype = parseDTypeName(raw.dtype, "dtype", source);
  if (raw.out_dtype !== undefined && raw.out_dtype !== null) {
    config.outDtype = parseDTypeName(raw.out_dtype, "out_dtype", source);
  }
  if (raw.tokenizer_source !== undefined && raw.tokenizer_source !== null) {
    const ts = raw.tokenizer_source;
    if (ts === "union") {
      throw new MergeConfigError(
        "tokenizer_source 'union' is not supported (use 'base' or a model path)",
        source,
      );
    }
    config.tokenizerSource = parseModelRef(ts, "'tokenizer_source'", source);
  }
  return config;
}

/** Parses and validates mergekit YAML text. `source` (a file name) is used in error messages. */
export function parseMergeConfig(yamlText: string, source?: string): MergeConfig {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new MergeConfigError(`invalid YAML: ${(err as Error).message.split("\n")[0]}`, source);
  }
  return validateMergeConfig(raw, source);
}
