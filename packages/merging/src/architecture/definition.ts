// Architecture definitions: which tensors of a model come before its layers, which belong to layer i,
// which follow the layers, and where config.json keeps the layer count. The format is mergekit's JSON
// architecture format (docs/architectures.md), so definitions written for mergekit work here unchanged.

import { type MergeDType, parseDTypeName } from "../config/dtype.js";
import { MergeInputError } from "../errors.js";

/** An architecture definition that cannot be used, or a model no definition matches. */
export class ArchitectureError extends MergeInputError {
  override readonly name = "ArchitectureError";
}

/** One weight of a definition; names may hold `${layer_index}` / `${num_layers}` (± 1) placeholders. */
export interface WeightTemplate {
  readonly name: string;
  /** Rows index the vocabulary (embeddings, LM heads): submatrix merges and tokenizer permutations apply. */
  readonly isEmbed: boolean;
  /** May be absent from a model (e.g. an LM head tied to the embeddings). */
  readonly optional: boolean;
  /** Other names the weight may be stored under (the output uses `name`). */
  readonly aliases: readonly string[];
  /** Names of weights it is tied to: read in their place when the model does not store it. */
  readonly tiedNames: readonly string[];
  /** Saved in this dtype whatever the merge's `out_dtype`. */
  readonly forceDtype?: MergeDType;
}

/** The layout of one module (the whole model for ordinary architectures). */
export interface ModuleLayout {
  readonly modelType: string;
  readonly pre: readonly WeightTemplate[];
  readonly layer: readonly WeightTemplate[];
  readonly post: readonly WeightTemplate[];
  /** Dotted config.json key of the layer count (default `num_hidden_layers`). */
  readonly numLayersKey?: string;
  /** A fixed layer count instead of the config's. */
  readonly overrideNumLayers?: number;
}

export interface ModuleDefinition {
  readonly name: string;
  /** Prepended to every weight name of the module. */
  readonly weightPrefix: string;
  readonly layout: ModuleLayout;
}

export interface ArchitectureDefinition {
  /** config.json `model_type` the definition expects (tells apart definitions sharing a class name). */
  readonly modelType: string;
  /** config.json `architectures` class names it matches. */
  readonly architectures: readonly string[];
  /** Modules in order ("default" alone for ordinary architectures). */
  readonly modules: readonly ModuleDefinition[];
  /** Dotted config.json key of the vocabulary size (default `vocab_size`). */
  readonly vocabSizeKey?: string;
  /** Extra files copied from the donor model. */
  readonly tagalongFiles: readonly string[];
  /** Where the definition came from (a file path, for messages). */
  readonly source: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function fail(source: string, where: string, what: string): never {
  throw new ArchitectureError(`architecture definition ${source}: ${where} ${what}`);
}

function stringList(v: unknown, source: string, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    fail(source, where, "must be a list of strings");
  return v as string[];
}

function weight(v: unknown, source: string, where: string): WeightTemplate {
  if (!isObject(v)) fail(source, where, "must be an object with a 'name'");
  if (typeof v.name !== "string" || v.name === "")
    fail(source, `${where}.name`, "must be a non-empty string");
  const flag = (k: string) => {
    const f = v[k];
    if (f !== undefined && f !== null && typeof f !== "boolean")
      fail(source, `${where}.${k}`, "must be true or false");
    return f === true;
  };
  const out: WeightTemplate = {
    name: v.name,
    isEmbed: flag("is_embed"),
    optional: flag("optional"),
    aliases: stringList(v.aliases, source, `${where}.aliases`),
    tiedNames: stringList(v.tied_names, source, `${where}.tied_names`),
  };
  if (typeof v.force_dtype === "string") {
    try {
      return { ...out, forceDtype: parseDTypeName(v.force_dtype, `${where}.force_dtype`) };
    } catch (err) {
      fail(source, `${where}.force_dtype`, (err as Error).message);
    }
  }
  return out;
}

function weights(v: unknown, source: string, where: string): WeightTemplate[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(source, where, "must be a list of weights");
  return v.map((e, i) => weight(e, source, `${where}[${i}]`));
}

function moduleLayout(v: unknown, source: string, where: string): ModuleLayout {
  if (!isObject(v)) fail(source, where, "must be an object");
  const templates = v.layer_templates;
  if (templates !== undefined && templates !== null && !isObject(templates))
    fail(source, `${where}.layer_templates`, "must be an object with 'weights'");
  const layer = weights(
    isObject(templates) ? templates.weights : undefined,
    source,
    `${where}.layer_templates.weights`,
  );
  const key = v.num_layers_config_key;
  if (key !== undefined && key !== null && typeof key !== "string")
    fail(source, `${where}.num_layers_config_key`, "must be a string");
  const override = v.override_num_layers;
  if (
    override !== undefined &&
    override !== null &&
    !(Number.isInteger(override) && (override as number) >= 0)
  )
    fail(source, `${where}.override_num_layers`, "must be a non-negative integer");
  return {
    modelType: typeof v.model_type === "string" ? v.model_type : "",
    pre: weights(v.pre_weights, source, `${where}.pre_weights`),
    layer,
    post: weights(v.post_weights, source, `${where}.post_weights`),
    ...(typeof key === "string" && key !== "" ? { numLayersKey: key } : {}),
    ...(typeof override === "number" ? { overrideNumLayers: override } : {}),
  };
}

/**
 * Parses one definition in mergekit's JSON architecture format: `kind: "module"` (the default; one
 * module) or `kind: "modular"` (named modules, each with an optional `weight_prefix`).
 */
export function parseArchitectureDefinition(json: unknown, source: string): ArchitectureDefinition {
  if (!isObject(json)) fail(source, "the file", "must hold a JSON object");
  const kind = json.kind ?? "module";
  const architectures = stringList(json.architectures, source, "architectures");
  const modelType = typeof json.model_type === "string" ? json.model_type : "";
  const vocab = json.vocab_size_config_key;
  const common = {
    modelType,
    architectures,
    ...(typeof vocab === "string" && vocab !== "" ? { vocabSizeKey: vocab } : {}),
    tagalongFiles: stringList(json.tagalong_files, source, "tagalong_files"),
    source,
  };
  if (kind === "module") {
    return {
      ...common,
      modules: [{ name: "default", weightPrefix: "", layout: moduleLayout(json, source, "the definition") }],
    };
  }
  if (kind !== "modular") fail(source, "kind", `must be "module" or "modular", got ${JSON.stringify(kind)}`);
  if (!isObject(json.modules) || Object.keys(json.modules).length === 0)
    fail(source, "modules", "must map module names to {architecture, weight_prefix}");
  const modules = Object.entries(json.modules).map(([name, m]): ModuleDefinition => {
    const where = `modules.${name}`;
    if (!isObject(m)) fail(source, where, "must be an object with an 'architecture'");
    const prefix = m.weight_prefix;
    if (prefix !== undefined && prefix !== null && typeof prefix !== "string")
      fail(source, `${where}.weight_prefix`, "must be a string");
    return {
      name,
      weightPrefix: prefix ?? "",
      layout: moduleLayout(m.architecture, source, `${where}.architecture`),
    };
  });
  return { ...common, modules };
}

const VARIABLE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*(?:[+-]1)?)\}|([A-Za-z_][A-Za-z0-9_]*(?:[+-]1)?)|(\$))/g;

/**
 * Substitutes `${layer_index}`, `${num_layers}` and their `+1` / `-1` forms (also written without
 * braces; `$$` is a literal `$`) in a weight name, as mergekit's templates do.
 */
export function substituteTemplate(template: string, numLayers: number, layerIndex?: number): string {
  if (!template.includes("$")) return template;
  const values: Record<string, number> = {
    num_layers: numLayers,
    "num_layers+1": numLayers + 1,
    "num_layers-1": numLayers - 1,
  };
  if (layerIndex !== undefined) {
    values.layer_index = layerIndex;
    values["layer_index+1"] = layerIndex + 1;
    values["layer_index-1"] = layerIndex - 1;
  }
  return template.replace(VARIABLE, (all, braced?: string, bare?: string, dollar?: string) => {
    if (dollar) return "$";
    const key = braced ?? bare ?? "";
    const v = values[key];
    if (v === undefined) {
      throw new ArchitectureError(
        `weight name '${template}': unknown placeholder '${all}'${layerIndex === undefined && key.startsWith("layer_index") ? " outside the layer templates" : ""}`,
      );
    }
    return String(v);
  });
}
