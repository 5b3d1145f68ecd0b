import { parse as parseYaml } from "yaml";
import { parseDTypeName } from "./dtype.js";
import { MergeConfigError } from "./errors.js";
import type {
  ConditionalParameter,
  MergeConfig,
  ModelEntry,
  ModuleEntry,
  ParameterMap,
  ParameterSetting,
  ScalarSetting,
  SliceEntry,
  SliceSource,
  TokenEmbeddingSource,
  TokenizerSettings,
  TokenSettings,
} from "./schema.js";

const TOP_LEVEL = new Set([
  "models",
  "slices",
  "modules",
  "base_model",
  "merge_method",
  "parameters",
  "dtype",
  "out_dtype",
  "tokenizer_source",
  "tokenizer",
  "chat_template",
  "architecture_files",
]);

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

function parseModels(v: unknown, where: string, source?: string): ModelEntry[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new MergeConfigError(`'${where}' must be a non-empty list of {model, parameters} entries`, source);
  }
  return v.map((entry, i) => {
    const at = `${where}[${i}]`;
    // A bare string is accepted as shorthand for {model: <string>}.
    if (typeof entry === "string") return { model: parseModelRef(entry, at, source), parameters: {} };
    if (!isObject(entry)) throw new MergeConfigError(`${at} must be a {model, parameters} entry`, source);
    checkKeys(entry, new Set(["model", "parameters"]), at, source);
    return {
      model: parseModelRef(entry.model, `${at}.model`, source),
      parameters: parseParameters(entry.parameters, `${at}.parameters`, source),
    };
  });
}

function parseLayerRange(v: unknown, where: string, source?: string): [number, number] {
  const ok =
    Array.isArray(v) &&
    v.length === 2 &&
    v.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0) &&
    (v[0] as number) <= (v[1] as number);
  if (!ok) {
    throw new MergeConfigError(
      `${where} must be [start, end] with integers 0 ≤ start ≤ end (end excluded), got ${JSON.stringify(v)}`,
      source,
    );
  }
  return [v[0] as number, v[1] as number];
}

function parseSlices(v: unknown, where: string, source?: string): SliceEntry[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new MergeConfigError(`'${where}' must be a non-empty list of {sources, ...} slices`, source);
  }
  return v.map((entry, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(entry)) throw new MergeConfigError(`${at} must be a {sources, ...} slice`, source);
    checkKeys(entry, new Set(["sources", "base_model", "parameters", "residual_weight"]), at, source);
    if (!Array.isArray(entry.sources) || entry.sources.length === 0) {
      throw new MergeConfigError(
        `${at}.sources must be a non-empty list of {model, layer_range} entries`,
        source,
      );
    }
    const sources = entry.sources.map((s, j): SliceSource => {
      const sat = `${at}.sources[${j}]`;
      if (!isObject(s)) throw new MergeConfigError(`${sat} must be a {model, layer_range} entry`, source);
      checkKeys(s, new Set(["model", "layer_range", "parameters"]), sat, source);
      return {
        model: parseModelRef(s.model, `${sat}.model`, source),
        layerRange: parseLayerRange(s.layer_range, `${sat}.layer_range`, source),
        parameters: parseParameters(s.parameters, `${sat}.parameters`, source),
      };
    });
    const lengths = sources.map((s) => s.layerRange[1] - s.layerRange[0]);
    if (lengths.some((n) => n !== lengths[0])) {
      throw new MergeConfigError(
        `${at}: all sources of a slice must have the same number of layers, got ${lengths.join(", ")}`,
        source,
      );
    }
    const slice: SliceEntry = {
      sources,
      parameters: parseParameters(entry.parameters, `${at}.parameters`, source),
    };
    if (entry.base_model !== undefined && entry.base_model !== null) {
      slice.baseModel = parseModelRef(entry.base_model, `${at}.base_model`, source);
    }
    if (entry.residual_weight !== undefined && entry.residual_weight !== null) {
      if (typeof entry.residual_weight !== "number")
        throw new MergeConfigError(`${at}.residual_weight must be a number`, source);
      slice.residualWeight = entry.residual_weight;
    }
    return slice;
  });
}

function parseModules(v: unknown, source?: string): Record<string, ModuleEntry> {
  if (!isObject(v) || Object.keys(v).length === 0) {
    throw new MergeConfigError(
      "'modules' must be a non-empty mapping of module names to {models | slices}",
      source,
    );
  }
  const out: Record<string, ModuleEntry> = {};
  for (const [name, entry] of Object.entries(v)) {
    const at = `modules.${name}`;
    if (!isObject(entry))
      throw new MergeConfigError(`${at} must be a {models | slices, parameters} entry`, source);
    checkKeys(entry, new Set(["models", "slices", "parameters"]), at, source);
    const hasModels = entry.models !== undefined && entry.models !== null;
    const hasSlices = entry.slices !== undefined && entry.slices !== null;
    if (hasModels === hasSlices) {
      throw new MergeConfigError(`${at} must have exactly one of 'models' or 'slices'`, source);
    }
    const module: ModuleEntry = { parameters: parseParameters(entry.parameters, `${at}.parameters`, source) };
    if (hasModels) module.models = parseModels(entry.models, `${at}.models`, source);
    else module.slices = parseSlices(entry.slices, `${at}.slices`, source);
    out[name] = module;
  }
  return out;
}

function parseTokenSource(v: unknown, where: string, source?: string): TokenEmbeddingSource | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return { kind: "model", model: parseModelRef(v, where, source) };
  if (!isObject(v)) {
    throw new MergeConfigError(`${where} must be a model path or {kind: model_token | zero, ...}`, source);
  }
  if (v.kind === "zero") {
    checkKeys(v, new Set(["kind"]), where, source);
    return { kind: "zero" };
  }
  if (v.kind === "model_token") {
    checkKeys(v, new Set(["kind", "model", "token", "token_id"]), where, source);
    const hasToken = v.token !== undefined && v.token !== null;
    const hasId = v.token_id !== undefined && v.token_id !== null;
    if (hasToken === hasId) {
      throw new MergeConfigError(`${where}: give exactly one of 'token' or 'token_id'`, source);
    }
    const out: TokenEmbeddingSource = {
      kind: "model_token",
      model: parseModelRef(v.model, `${where}.model`, source),
    };
    if (hasToken) {
      if (typeof v.token !== "string") throw new MergeConfigError(`${where}.token must be a string`, source);
      out.token = v.token;
    } else {
      if (typeof v.token_id !== "number" || !Number.isInteger(v.token_id) || v.token_id < 0)
        throw new MergeConfigError(`${where}.token_id must be a non-negative integer`, source);
      out.tokenId = v.token_id;
    }
    return out;
  }
  throw new MergeConfigError(
    `${where}.kind must be 'model_token' or 'zero', got ${JSON.stringify(v.kind)}`,
    source,
  );
}

function parseTokenizer(v: unknown, source?: string): TokenizerSettings {
  if (!isObject(v))
    throw new MergeConfigError("'tokenizer' must be a {source, tokens, pad_to_multiple_of} mapping", source);
  checkKeys(v, new Set(["source", "tokens", "pad_to_multiple_of"]), "tokenizer", source);
  const out: TokenizerSettings = {
    source:
      v.source === undefined || v.source === null
        ? "union"
        : parseModelRef(v.source, "tokenizer.source", source),
    tokens: {},
  };
  if (v.tokens !== undefined && v.tokens !== null) {
    if (!isObject(v.tokens))
      throw new MergeConfigError("tokenizer.tokens must be a mapping of tokens", source);
    for (const [token, cfg] of Object.entries(v.tokens)) {
      const at = `tokenizer.tokens[${JSON.stringify(token)}]`;
      const entry = cfg ?? {};
      if (!isObject(entry)) throw new MergeConfigError(`${at} must be a {source, force} mapping`, source);
      checkKeys(entry, new Set(["source", "force"]), at, source);
      if (entry.force !== undefined && entry.force !== null && typeof entry.force !== "boolean")
        throw new MergeConfigError(`${at}.force must be true or false`, source);
      const settings: TokenSettings = { force: entry.force === true };
      const src = parseTokenSource(entry.source, `${at}.source`, source);
      if (src) settings.source = src;
      if (settings.force && !src) throw new MergeConfigError(`${at}: force needs a source`, source);
      out.tokens[token] = settings;
    }
  }
  if (v.pad_to_multiple_of !== undefined && v.pad_to_multiple_of !== null) {
    const m = v.pad_to_multiple_of;
    if (typeof m !== "number" || !Number.isInteger(m) || m < 1)
      throw new MergeConfigError("tokenizer.pad_to_multiple_of must be a positive integer", source);
    out.padToMultipleOf = m;
  }
  return out;
}

/**
 * Validates a mergekit-style config object (snake_case keys, as parsed from YAML). Unknown keys are an
 * error that names them; mergekit keys outside the supported subset are named as unsupported.
 */
export function validateMergeConfig(raw: unknown, source?: string): MergeConfig {
  if (!isObject(raw)) throw new MergeConfigError("a merge config must be a YAML mapping", source);
  checkKeys(raw, TOP_LEVEL, "the config", source);
  if (typeof raw.merge_method !== "string" || raw.merge_method === "") {
    throw new MergeConfigError(
      "'merge_method' is required (a method name such as task_arithmetic, ties or pcb)",
      source,
    );
  }
  const given = (k: string) => raw[k] !== undefined && raw[k] !== null;
  const layouts = ["models", "slices", "modules"].filter(given);
  if (layouts.length !== 1) {
    throw new MergeConfigError(
      layouts.length === 0
        ? "'models' must be a non-empty list of {model, parameters} entries (or use 'slices' or 'modules')"
        : `exactly one of 'models', 'slices' or 'modules' may be given, got ${layouts.map((k) => `'${k}'`).join(" and ")}`,
      source,
    );
  }
  const config: MergeConfig = {
    mergeMethod: raw.merge_method,
    models: given("models") ? parseModels(raw.models, "models", source) : [],
    parameters: parseParameters(raw.parameters, "parameters", source),
  };
  if (given("slices")) config.slices = parseSlices(raw.slices, "slices", source);
  if (given("modules")) config.modules = parseModules(raw.modules, source);
  if (given("base_model")) config.baseModel = parseModelRef(raw.base_model, "'base_model'", source);
  if (given("dtype")) config.dtype = parseDTypeName(raw.dtype, "dtype", source);
  if (given("out_dtype")) config.outDtype = parseDTypeName(raw.out_dtype, "out_dtype", source);
  if (given("tokenizer_source") && given("tokenizer")) {
    throw new MergeConfigError("give either 'tokenizer_source' or 'tokenizer', not both", source);
  }
  if (given("tokenizer_source")) {
    config.tokenizerSource = parseModelRef(raw.tokenizer_source, "'tokenizer_source'", source);
  }
  if (given("tokenizer")) config.tokenizer = parseTokenizer(raw.tokenizer, source);
  if (given("chat_template")) {
    if (typeof raw.chat_template !== "string" || raw.chat_template.trim() === "")
      throw new MergeConfigError(
        "'chat_template' must be a template name, 'auto' or a Jinja template string",
        source,
      );
    config.chatTemplate = raw.chat_template;
  }
  if (given("architecture_files")) {
    const files = Array.isArray(raw.architecture_files) ? raw.architecture_files : [raw.architecture_files];
    config.architectureFiles = files.map((f, i) => parseModelRef(f, `architecture_files[${i}]`, source));
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
