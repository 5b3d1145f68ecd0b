// The layer planner of `slices:` and `modules:` configs (mergekit's MergePlanner): an architecture
// definition says which weights precede the layers, which belong to layer i and which follow; each
// output slice merges its sources layer by layer into consecutive output layers (one source =
// passthrough stacking, "frankenmerges"). Pure: headers and config.json objects in, per-tensor tasks
// (output name, the stored name each input reads, parameters with the slice's layer position) out.
//
// What mergekit does, and so does this: pre-layer weights (embeddings) come from the first slice's
// sources, post-layer weights (final norm, LM head) from the last slice's, both at t = 0; layer i of a
// slice of n layers has t = i / (n − 1) (t = 1 when n = 1); a base model among a slice's sources is
// the base of its merges; an optional weight no source stores is left out, a missing tied weight is
// read from the tensor it is tied to. Beyond mergekit: tensors under a layer's name prefix that the
// definition does not list (biases, MoE experts, extra norms) travel with their layer, and tensors the
// definition does not place at all are carried like the pre-layer weights, with a warning, instead of
// being dropped.

import {
  type ArchitectureDefinition,
  ArchitectureError,
  type BoundWeight,
  bindWeight,
  type ConfigJson,
  LayerPrefixes,
  layersKeyOf,
  type ModuleDefinition,
  moduleLayerCount,
  moduleOf,
} from "../architecture/index.js";
import type { MergeConfig, ModelEntry, SliceEntry } from "../config/index.js";
import { MergeInputError } from "../errors.js";
import type { MergeMethod } from "../method.js";
import type { ParamContext, ParamPath } from "./params.js";
import { resolveContext } from "./params.js";
import {
  type CheckpointPlan,
  checkTensorParams,
  type InputRefs,
  type ModuleLayers,
  outDtypeOf,
  type PlannedOutput,
  type SourceRef,
} from "./plan.js";
import { type HeaderView, isFloatDtype, type MergeWarning, takeModels, takeVocabulary } from "./tensors.js";

export interface LayerPlanInput {
  readonly config: MergeConfig;
  readonly method: MergeMethod;
  readonly architecture: ArchitectureDefinition;
  readonly refs: InputRefs;
  /** Headers of `refs.all`, aligned with it. */
  readonly headers: readonly HeaderView[];
  /** config.json of `refs.all`, aligned with it (undefined: the input has none). */
  readonly configs: readonly (ConfigJson | undefined)[];
  readonly strict?: boolean;
  /** Tokenizer merge: the output vocabulary's row count for the definition's `is_embed` weights. */
  readonly vocabularyRows?: number;
}

/** One source of a normalized slice. */
interface NormSource {
  readonly ref: string;
  readonly input: number;
  readonly start: number;
  readonly own?: ParamPath;
}

interface NormSlice {
  readonly sources: readonly NormSource[];
  readonly length: number;
  readonly base?: string;
  /** The slice's own parameter level (absent for modules given as models). */
  readonly path?: ParamPath;
  /** For messages: `slices[2]` / `modules.text_decoder.slices[0]`. */
  readonly where: string;
}

interface NormModule {
  readonly name: string;
  readonly def: ModuleDefinition;
  readonly slices: readonly NormSlice[];
  readonly path?: ParamPath;
}

class Planner {
  private readonly index: Map<string, number>;
  readonly tensors: PlannedOutput[] = [];
  readonly warnings: MergeWarning[] = [];
  private readonly outNames = new Set<string>();

  constructor(private readonly input: LayerPlanInput) {
    this.index = new Map(input.refs.all.map((r, i) => [r, i]));
  }

  warn(w: MergeWarning): void {
    if (this.input.strict) throw new MergeInputError(`${w.message} (--strict)`);
    this.warnings.push(w);
  }

  inputOf(ref: string): number {
    const i = this.index.get(ref);
    if (i === undefined) throw new MergeInputError(`model '${ref}' is not an input of this merge`);
    return i;
  }

  header(ref: string): HeaderView {
    return this.input.headers[this.inputOf(ref)]!;
  }

  layersOf(ref: string, module: ModuleDefinition): number {
    return moduleLayerCount(module, this.input.configs[this.inputOf(ref)], ref);
  }

  /** The config's modules with their slices (mergekit's normalize_config). */
  normalize(): NormModule[] {
    const { config, architecture } = this.input;
    const slicesOf = (slices: readonly SliceEntry[], module: ModuleDefinition, moduleName?: string) =>
      slices.map((s, si): NormSlice => {
        const where = moduleName === undefined ? `slices[${si}]` : `modules.${moduleName}.slices[${si}]`;
        const sources = s.sources.map((src, j): NormSource => {
          const layers = this.layersOf(src.model, module);
          if (src.layerRange[1] > layers) {
            throw new MergeInputError(
              `${where}.sources[${j}]: layer_range [${src.layerRange.join(", ")}] exceeds the ${layers} layers of model ${src.model}` +
                (module.name === "default" ? "" : ` (module '${module.name}')`),
            );
          }
          return {
            ref: src.model,
            input: this.inputOf(src.model),
            start: src.layerRange[0],
            own: {
              kind: "source",
              ...(moduleName !== undefined ? { module: moduleName } : {}),
              slice: si,
              source: j,
            },
          };
        });
        return {
          sources,
          length: s.sources[0]!.layerRange[1] - s.sources[0]!.layerRange[0],
          ...(s.baseModel !== undefined ? { base: s.baseModel } : {}),
          path: { kind: "slice", ...(moduleName !== undefined ? { module: moduleName } : {}), slice: si },
          where,
        };
      });
    const modelsSlice = (
      models: readonly ModelEntry[],
      module: ModuleDefinition,
      moduleName: string,
    ): NormSlice => {
      const sources: NormSource[] = models.map((m, i) => ({
        ref: m.model,
        input: this.inputOf(m.model),
        start: 0,
        own: { kind: "module-model", module: moduleName, index: i },
      }));
      const base = this.input.method.base === "none" ? undefined : config.baseModel;
      if (base !== undefined && !models.some((m) => m.model === base)) {
        sources.push({ ref: base, input: this.inputOf(base), start: 0 });
      }
      const lengths = sources.map((s) => this.layersOf(s.ref, module));
      if (lengths.some((n) => n !== lengths[0])) {
        throw new MergeInputError(
          `modules.${moduleName}: the models have different layer counts (${sources.map((s, i) => `${s.ref}: ${lengths[i]}`).join(", ")}); use slices with layer_range`,
        );
      }
      return { sources, length: lengths[0]!, where: `modules.${moduleName}` };
    };
    if (config.slices) {
      if (architecture.modules.length !== 1) {
        throw new ArchitectureError(
          `architecture '${architecture.modelType}' has ${architecture.modules.length} modules (${architecture.modules.map((m) => m.name).join(", ")}): use 'modules:' to give each its slices`,
        );
      }
      const def = architecture.modules[0]!;
      return [{ name: def.name, def, slices: slicesOf(config.slices, def) }];
    }
    const modules = config.modules ?? {};
    for (const m of architecture.modules) {
      if (!(m.name in modules)) {
        this.warn({
          kind: "extra",
          tensor: `${m.weightPrefix}*`,
          message: `module '${m.name}' of architecture '${architecture.modelType}' is not in 'modules': its tensors are left out of the output`,
        });
      }
    }
    return Object.entries(modules).map(([name, entry]): NormModule => {
      const def = moduleOf(architecture, name);
      const slices = entry.slices
        ? slicesOf(entry.slices, def, name)
        : [modelsSlice(entry.models ?? [], def, name)];
      return { name, def, slices, path: { kind: "module", module: name } };
    });
  }

  /** The stored name of `w` in `ref` (its name, an alias, or a tied weight's name), or undefined. */
  storedName(ref: string, w: BoundWeight, tied = true): string | undefined {
    const h = this.header(ref);
    for (const n of [w.name, ...w.aliases, ...(tied ? w.tiedNames : [])]) if (h.info(n)) return n;
    return undefined;
  }

  /**
   * Plans one output weight from a slice's sources: `inWeights[j]` is the weight as source j stores
   * it (layer weights differ by layer index).
   */
  planWeight(
    out: BoundWeight,
    slice: NormSlice,
    inWeights: readonly BoundWeight[],
    ctx: { t: number; global: readonly ParamPath[] },
  ): void {
    const { method, config } = this.input;
    if (this.outNames.has(out.name)) return;
    // An optional weight that no source stores under its name or aliases is left out (mergekit).
    if (out.optional && !slice.sources.some((s, j) => this.storedName(s.ref, inWeights[j]!, false))) return;
    const stored = slice.sources.map((s, j) => this.storedName(s.ref, inWeights[j]!));
    const baseRef = method.base === "none" ? undefined : (slice.base ?? config.baseModel);
    const baseAt = baseRef === undefined ? -1 : slice.sources.findIndex((s) => s.ref === baseRef);
    if (method.base === "required" && baseAt < 0) {
      throw new MergeInputError(
        baseRef === undefined
          ? `merge method '${method.name}' needs 'base_model'`
          : `${slice.where}: the base model ${baseRef} is not among its sources (list it with its layer_range)`,
      );
    }
    const present = slice.sources.map((_, j) => j).filter((j) => stored[j] !== undefined);
    if (present.length === 0) {
      throw new MergeInputError(
        `${slice.where}: no source has tensor '${inWeights[0]!.name}'${out.optional ? "" : " (the architecture definition requires it)"}`,
      );
    }
    if (baseAt >= 0 && stored[baseAt] === undefined) {
      throw new MergeInputError(`base model ${baseRef} has no tensor '${inWeights[baseAt]!.name}'`);
    }
    const keepAt = baseAt >= 0 ? baseAt : present[0]!;
    const keepSrc = slice.sources[keepAt]!;
    const keep: SourceRef = { input: keepSrc.input, name: stored[keepAt]! };
    const refInfo = this.header(keepSrc.ref).info(keep.name)!;
    const modelIdx = slice.sources.map((_, j) => j).filter((j) => j !== baseAt);
    const vocab = out.isEmbed && this.input.vocabularyRows !== undefined && refInfo.shape.length === 2;
    const candidates = modelIdx.map((j) => {
      const s = slice.sources[j]!;
      const name = stored[j];
      return {
        label: s.ref,
        info: name === undefined ? undefined : this.header(s.ref).info(name),
        isReference: j === keepAt && !vocab,
      };
    });
    const warnFor = (w: MergeWarning) => this.warn({ ...w, tensor: out.name });
    const noteFor = (w: MergeWarning) => this.warnings.push({ ...w, tensor: out.name });
    const float = isFloatDtype(refInfo.dtype);
    const { taking, block } = !float
      ? { taking: [], block: undefined }
      : vocab
        ? takeVocabulary(out.name, refInfo.shape, candidates, warnFor)
        : takeModels(
            out.name,
            refInfo.shape,
            candidates,
            out.isEmbed && refInfo.shape.length === 2,
            warnFor,
            noteFor,
          );
    let kind: "merge" | "copy" = float ? "merge" : "copy";
    if (float && taking.length < method.minModels) {
      this.warn({
        kind: "copied",
        tensor: out.name,
        message: `tensor '${out.name}': only ${taking.length} compatible model(s), the method needs ${method.minModels}; keeping ${keepSrc.ref}'s '${keep.name}'`,
      });
      kind = "copy";
    }
    const takingSrc = kind === "merge" ? taking.map((k) => modelIdx[k]!) : [];
    const params: ParamContext = {
      t: ctx.t,
      global: ctx.global,
      models: takingSrc.map((j) => ({
        ...(slice.sources[j]!.own ? { own: slice.sources[j]!.own } : {}),
        name: stored[j]!,
      })),
    };
    const shape = vocab ? [this.input.vocabularyRows!, refInfo.shape[1]!] : refInfo.shape;
    const outDtype = out.forceDtype && float ? out.forceDtype : outDtypeOf(config, refInfo.dtype);
    this.outNames.add(out.name);
    this.tensors.push({
      name: out.name,
      shape,
      storedDtype: refInfo.dtype,
      kind,
      models: takingSrc.map((_, k) => k),
      ...(block && kind === "merge" ? { block } : {}),
      outDtype,
      reads: {
        keep,
        ...(baseAt >= 0 ? { base: keep } : {}),
        models: takingSrc.map((j) => ({ input: slice.sources[j]!.input, name: stored[j]! })),
      },
      params,
      ...(vocab && kind === "merge" ? { vocabulary: true } : {}),
    });
  }

  /** Parameter levels of a slice in a module, highest precedence first (after each model's own). */
  levels(module: NormModule, slice: NormSlice): ParamPath[] {
    return [...(slice.path ? [slice.path] : []), ...(module.path ? [module.path] : []), { kind: "top" }];
  }

  planModule(module: NormModule, carried: readonly string[]): ModuleLayers {
    const { def, slices } = module;
    const outLayers = slices.reduce((s, sl) => s + sl.length, 0);
    const first = slices[0]!;
    const last = slices[slices.length - 1]!;
    const bindAll = (slice: NormSlice, w: (typeof def.layout.pre)[number]) =>
      slice.sources.map((s) => bindWeight(w, def, this.layersOf(s.ref, def)));
    for (const w of def.layout.pre) {
      this.planWeight(bindWeight(w, def, outLayers), first, bindAll(first, w), {
        t: 0,
        global: this.levels(module, first),
      });
    }
    // Tensors no module places, carried like the pre-layer weights of the first module.
    for (const name of carried) {
      const weight: BoundWeight = { name, aliases: [], tiedNames: [], isEmbed: false, optional: true };
      this.planWeight(
        weight,
        first,
        first.sources.map(() => weight),
        { t: 0, global: this.levels(module, first) },
      );
    }
    const prefixes = LayerPrefixes.of(def);
    const sources: { model: string; layer: number }[] = [];
    let outIndex = 0;
    for (const slice of slices) {
      for (let k = 0; k < slice.length; k++) {
        const t = slice.length > 1 ? k / (slice.length - 1) : 1;
        const global = this.levels(module, slice);
        const listed = new Set<string>();
        for (const w of def.layout.layer) {
          const inWeights = slice.sources.map((s) =>
            bindWeight(w, def, this.layersOf(s.ref, def), s.start + k),
          );
          for (const b of inWeights) for (const n of [b.name, ...b.aliases]) listed.add(n);
          this.planWeight(bindWeight(w, def, outLayers, outIndex), slice, inWeights, { t, global });
        }
        this.planLayerExtras(prefixes, slice, k, outIndex, listed, { t, global });
        const head =
          slice.sources.find((s) => s.ref === (slice.base ?? this.input.config.baseModel)) ??
          slice.sources[0]!;
        sources.push({ model: head.ref, layer: head.start + k });
        outIndex++;
      }
    }
    for (const w of def.layout.post) {
      this.planWeight(bindWeight(w, def, outLayers), last, bindAll(last, w), {
        t: 0,
        global: this.levels(module, last),
      });
    }
    return {
      module: module.name,
      ...(layersKeyOf(def) ? { key: layersKeyOf(def) } : {}),
      count: outLayers,
      sources,
    };
  }

  /** Tensors under source layer `start + k` that the definition does not list travel with their layer. */
  planLayerExtras(
    prefixes: LayerPrefixes,
    slice: NormSlice,
    k: number,
    outIndex: number,
    listed: ReadonlySet<string>,
    ctx: { t: number; global: readonly ParamPath[] },
  ): void {
    const outPrefix = prefixes.canonicalOf(outIndex);
    if (outPrefix === undefined) return;
    const suffixes: string[] = [];
    const seen = new Set<string>();
    for (const s of slice.sources) {
      for (const n of this.header(s.ref).names()) {
        if (listed.has(n)) continue;
        const suffix = prefixes.suffixIn(n, s.start + k);
        if (suffix !== undefined && !seen.has(suffix)) {
          seen.add(suffix);
          suffixes.push(suffix);
        }
      }
    }
    for (const suffix of suffixes) {
      const inWeights = slice.sources.map((s): BoundWeight => {
        const h = this.header(s.ref);
        const name =
          prefixes
            .all(s.start + k)
            .map((p) => p + suffix)
            .find((n) => h.info(n)) ?? `${prefixes.canonicalOf(s.start + k)}${suffix}`;
        return { name, aliases: [], tiedNames: [], isEmbed: false, optional: true };
      });
      this.planWeight(
        { name: outPrefix + suffix, aliases: [], tiedNames: [], isEmbed: false, optional: true },
        slice,
        inWeights,
        ctx,
      );
    }
  }

  /** Tensors of the reference that no module's definition places (neither listed nor under a layer prefix). */
  unplaced(modules: readonly NormModule[], reference: string): string[] {
    const { architecture } = this.input;
    const known = new Set<string>();
    const prefixes = architecture.modules.map((m) => LayerPrefixes.of(m));
    for (const m of architecture.modules) {
      let layers: number;
      try {
        layers = this.layersOf(reference, m);
      } catch {
        continue;
      }
      const add = (b: BoundWeight) => {
        for (const n of [b.name, ...b.aliases, ...b.tiedNames]) known.add(n);
      };
      for (const w of [...m.layout.pre, ...m.layout.post]) add(bindWeight(w, m, layers));
      for (let i = 0; i < layers; i++) for (const w of m.layout.layer) add(bindWeight(w, m, layers, i));
    }
    // Modules the config leaves out lose their tensors on purpose (warned in normalize).
    const skipped = architecture.modules.filter((m) => !modules.some((x) => x.name === m.name));
    return this.header(reference)
      .names()
      .filter(
        (n) =>
          !known.has(n) &&
          !prefixes.some((p) => p.covers(n)) &&
          !skipped.some((m) => m.weightPrefix !== "" && n.startsWith(m.weightPrefix)),
      );
  }
}

/**
 * Plans a `slices:` or `modules:` checkpoint merge from an architecture definition: every output
 * tensor with the inputs and stored names it reads, its parameter levels and layer position, and the
 * output layer count of every module (for config.json).
 */
export function planLayerMerge(input: LayerPlanInput): CheckpointPlan {
  const { config, method, refs } = input;
  const planner = new Planner(input);
  const modules = planner.normalize();
  const firstSlice = modules[0]!.slices[0]!;
  const reference = (
    firstSlice.sources.find((s) => s.ref === (firstSlice.base ?? config.baseModel)) ?? firstSlice.sources[0]!
  ).ref;
  const carried = planner.unplaced(modules, reference);
  for (const n of carried) {
    planner.warn({
      kind: "extra",
      tensor: n,
      model: reference,
      message: `tensor '${n}' of ${reference} is not in the architecture definition (${input.architecture.source}); carried like the embeddings (from the first slice's models)`,
    });
  }
  const layers = modules.map((m, i) => planner.planModule(m, i === 0 ? carried : []));
  // Whole-model parameters: those of the first merged tensor at t = 0 without filters (tensor-scope
  // methods only use them as defaults; global sessions are not planned by layer).
  const first = planner.tensors.find((p) => p.kind === "merge");
  if (!first) throw new MergeInputError("the slices merge nothing: every tensor would be copied");
  const whole = resolveContext(
    method,
    config,
    { ...first.params, t: 0, models: first.params.models.map((m) => ({ ...m, name: "" })) },
    "",
  );
  const scope = method.scopeOf(whole.params);
  if (scope === "global") {
    throw new MergeInputError(
      `${method.name} with these parameters merges the whole model at once (global scope), which slices and modules do not support; use a models: config${method.name === "pcb" ? " or mode: per-tensor" : ""}`,
    );
  }
  if (method.auxInputs?.length) {
    throw new MergeInputError(
      `${method.name} reads per-model statistics files, which slices and modules do not support; use a models: config`,
    );
  }
  checkTensorParams(config, method, planner.tensors);
  return {
    method,
    scope,
    whole,
    tensors: planner.tensors,
    warnings: planner.warnings,
    configIndex: [],
    numLayers: 0,
    inputs: refs.all,
    layers,
  };
}
