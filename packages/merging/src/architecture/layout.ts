// A module's definition bound to one model's config.json: its layer count and the concrete names of its
// weights (templates substituted, the module's weight prefix prepended), plus the name prefixes of its
// layers so tensors a definition does not list are still found under their layer.

import {
  type ArchitectureDefinition,
  ArchitectureError,
  type ModuleDefinition,
  substituteTemplate,
  type WeightTemplate,
} from "./definition.js";

export type ConfigJson = Record<string, unknown>;

const isObject = (v: unknown): v is ConfigJson => typeof v === "object" && v !== null && !Array.isArray(v);

/** The value at a dotted config.json key (`text_config.num_hidden_layers`), or undefined. */
export function configValue(config: ConfigJson, key: string): unknown {
  let obj: unknown = config;
  for (const part of key.split(".")) {
    if (!isObject(obj) || !(part in obj)) return undefined;
    obj = obj[part];
  }
  return obj;
}

/** Sets the value at a dotted config.json key; false when a parent object is missing. */
export function setConfigValue(config: ConfigJson, key: string, value: unknown): boolean {
  const parts = key.split(".");
  let obj: unknown = config;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(obj) || !isObject(obj[part])) return false;
    obj = obj[part];
  }
  (obj as ConfigJson)[parts[parts.length - 1]!] = value;
  return true;
}

export const DEFAULT_LAYERS_KEY = "num_hidden_layers";

/** The config.json key of a module's layer count (undefined when the definition fixes the count). */
export function layersKeyOf(module: ModuleDefinition): string | undefined {
  return module.layout.overrideNumLayers !== undefined
    ? undefined
    : (module.layout.numLayersKey ?? DEFAULT_LAYERS_KEY);
}

/** The layer count of `module` in a model with this config.json. */
export function moduleLayerCount(
  module: ModuleDefinition,
  config: ConfigJson | undefined,
  model: string,
): number {
  const fixed = module.layout.overrideNumLayers;
  if (fixed !== undefined) return fixed;
  const key = layersKeyOf(module)!;
  const v = config ? configValue(config, key) : undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new ArchitectureError(
      `model ${model}: config.json ${v === undefined ? "has no" : "has a non-integer"} '${key}' (the layer count of module '${module.name}')`,
    );
  }
  return v;
}

/** A weight with its concrete names. */
export interface BoundWeight {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly tiedNames: readonly string[];
  readonly isEmbed: boolean;
  readonly optional: boolean;
  readonly forceDtype?: WeightTemplate["forceDtype"];
}

/** A template's concrete names for a module with `numLayers` layers (at layer `layerIndex` for layer weights). */
export function bindWeight(
  t: WeightTemplate,
  module: ModuleDefinition,
  numLayers: number,
  layerIndex?: number,
): BoundWeight {
  const name = (s: string) => module.weightPrefix + substituteTemplate(s, numLayers, layerIndex);
  return {
    name: name(t.name),
    aliases: t.aliases.map(name),
    tiedNames: t.tiedNames.map(name),
    isEmbed: t.isEmbed,
    optional: t.optional,
    ...(t.forceDtype ? { forceDtype: t.forceDtype } : {}),
  };
}

const LAYER_PLACEHOLDER = /\$\{?layer_index([+-]1)?\}?/;

/** Where a layer's tensors live: the text before the layer number, and the number's offset from the index. */
interface LayerHead {
  readonly head: string;
  readonly offset: number;
}

function headOf(template: string, prefix: string): LayerHead | undefined {
  const m = LAYER_PLACEHOLDER.exec(template);
  if (!m || template[m.index + m[0].length] !== ".") return undefined;
  return { head: prefix + template.slice(0, m.index), offset: m[1] === "+1" ? 1 : m[1] === "-1" ? -1 : 0 };
}

/**
 * The name prefixes of one layer of a module (`model.layers.7.`): every tensor under one belongs to
 * the layer. `canonical` is the prefix of the definition's names; `all` adds those of its aliases.
 */
export class LayerPrefixes {
  private constructor(
    private readonly canonical: LayerHead | undefined,
    private readonly heads: readonly LayerHead[],
  ) {}

  static of(module: ModuleDefinition): LayerPrefixes {
    const heads: LayerHead[] = [];
    let canonical: LayerHead | undefined;
    const add = (h: LayerHead | undefined) => {
      if (h && !heads.some((x) => x.head === h.head && x.offset === h.offset)) heads.push(h);
    };
    for (const t of module.layout.layer) {
      const h = headOf(t.name, module.weightPrefix);
      canonical ??= h;
      add(h);
      for (const a of t.aliases) add(headOf(a, module.weightPrefix));
    }
    return new LayerPrefixes(canonical, heads);
  }

  /** Every prefix of layer `index`. */
  all(index: number): string[] {
    return this.heads.map((h) => `${h.head}${index + h.offset}.`);
  }

  /** The definition's own prefix of layer `index` (undefined when its names have none). */
  canonicalOf(index: number): string | undefined {
    return this.canonical ? `${this.canonical.head}${index + this.canonical.offset}.` : undefined;
  }

  /** The suffix of `name` after one of layer `index`'s prefixes, or undefined when the name is not under it. */
  suffixIn(name: string, index: number): string | undefined {
    for (const p of this.all(index)) if (name.startsWith(p)) return name.slice(p.length);
    return undefined;
  }

  /** Whether `name` lies under some layer of this module (any index). */
  covers(name: string): boolean {
    for (const h of this.heads) {
      if (!name.startsWith(h.head)) continue;
      const m = /^(\d+)\./.exec(name.slice(h.head.length));
      if (m) return true;
    }
    return false;
  }
}

/** The module of `definition` named `name`, or an ArchitectureError listing the modules. */
export function moduleOf(definition: ArchitectureDefinition, name: string): ModuleDefinition {
  const m = definition.modules.find((x) => x.name === name);
  if (!m) {
    throw new ArchitectureError(
      `architecture '${definition.modelType || definition.architectures[0]}' (${definition.source}) has no module '${name}' (modules: ${definition.modules.map((x) => x.name).join(", ")})`,
    );
  }
  return m;
}
