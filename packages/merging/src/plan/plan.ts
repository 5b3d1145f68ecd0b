// The planner of checkpoint merges: config + method + the inputs' headers → the per-tensor tasks
// (merge or copy, which inputs and stored names each reads, block cuts, saved dtype, where its
// parameters come from), the whole-model parameters, and the fast path each task may take. Pure: no
// file is read here (the executor opens the inputs and hands their headers in), so every decision is
// unit-tested without I/O. `models:` configs are planned by tensor name (plan/tensors.ts); `slices:`
// and `modules:` configs by layer, from an architecture definition (plan/layers.ts).

import { type DType, elementSize } from "@x/tensor-core";
import {
  countLayers,
  layerPosition,
  type MergeConfig,
  referencedModels,
  usesLayerLayout,
} from "../config/index.js";
import { MergeInputError } from "../errors.js";
import { type MergeMethod, type ParamMap, resolveParams } from "../method.js";
import { evaluateAll, type ParamContext, resolveContext } from "./params.js";
import { type HeaderView, type MergeWarning, type PlannedTensor, planMerge } from "./tensors.js";

export { evaluateAll } from "./params.js";

/** Which model references a merge opens, and how the merged models map to `config.models`. */
export interface InputRefs {
  /** The base model reference, when the method uses one and the config names it. */
  readonly base?: string;
  /** The merged models' references (the base excluded when the method uses one); `models:` configs only. */
  readonly models: readonly string[];
  /** config.models index of each merged model (for its per-model parameters). */
  readonly configIndex: readonly number[];
  /** The model whose names, shapes and order the output follows: the base, else the first model. */
  readonly reference: string;
  /** Every input, once each; a planned tensor's `SourceRef.input` indexes this list. */
  readonly all: readonly string[];
}

/** The inputs of `config` for `method` (mergekit skips the base when it is also listed among the models). */
export function planInputs(config: MergeConfig, method: MergeMethod): InputRefs {
  const usesBase = method.base !== "none";
  if (method.base === "required" && config.baseModel === undefined && !usesLayerLayout(config)) {
    throw new MergeInputError(`merge method '${method.name}' needs 'base_model'`);
  }
  if (usesLayerLayout(config)) {
    const all = referencedModels(config);
    const reference = config.baseModel ?? all[0];
    if (reference === undefined) throw new MergeInputError("no input models");
    return {
      ...(usesBase && config.baseModel !== undefined ? { base: config.baseModel } : {}),
      models: [],
      configIndex: [],
      reference,
      all,
    };
  }
  const models: string[] = [];
  const configIndex: number[] = [];
  config.models.forEach((m, i) => {
    if (usesBase && m.model === config.baseModel) return;
    models.push(m.model);
    configIndex.push(i);
  });
  const reference = config.baseModel ?? models[0];
  if (reference === undefined) throw new MergeInputError("no input models");
  const base = usesBase && config.baseModel !== undefined ? config.baseModel : undefined;
  return {
    ...(base !== undefined ? { base } : {}),
    models,
    configIndex,
    reference,
    all: [...new Set([...(base !== undefined ? [base] : []), ...models, reference])],
  };
}

const FLOAT_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };
const isFloat = (dt: string) => dt in FLOAT_BYTES;

/** One input's copy of a tensor: the input (an index into `InputRefs.all`) and its stored name there. */
export interface SourceRef {
  readonly input: number;
  readonly name: string;
}

/** What a planned tensor reads. */
export interface TensorReads {
  /** The tensor kept for copies, and outside a merged block: the base's (else the reference's) copy. */
  readonly keep: SourceRef;
  /** The base's copy, when the method uses a base. */
  readonly base?: SourceRef;
  /** The taking models' copies, aligned with `PlannedTensor.models`. */
  readonly models: readonly SourceRef[];
}

/** A planned tensor with its saved dtype, its reads and where its parameters come from. */
export interface PlannedOutput extends PlannedTensor {
  /** out_dtype, else dtype, else the stored dtype (non-float tensors keep theirs). */
  readonly outDtype: string;
  readonly reads: TensorReads;
  readonly params: ParamContext;
  /**
   * Rows index the output vocabulary of a tokenizer merge: each input's rows are permuted to it
   * before merging (src/tokenizer/embed.ts), and `shape[0]` is the output vocabulary size.
   */
  readonly vocabulary?: boolean;
}

/** The output layer count of one module (slices and modules), and the config.json key that holds it. */
export interface ModuleLayers {
  readonly module: string;
  /** Dotted config.json key (undefined: the definition fixes the count). */
  readonly key?: string;
  readonly count: number;
  /** For each output layer, the source model and its layer index (to carry per-layer config lists). */
  readonly sources: readonly { readonly model: string; readonly layer: number }[];
}

export interface CheckpointPlan {
  readonly method: MergeMethod;
  readonly scope: "tensor" | "global";
  /** Parameters resolved for the whole model (no per-tensor filters): global sessions use these. */
  readonly whole: { readonly params: ParamMap; readonly modelParams: readonly ParamMap[] };
  readonly tensors: readonly PlannedOutput[];
  readonly warnings: readonly MergeWarning[];
  /** config.models index of each merged model (`models:` configs). */
  readonly configIndex: readonly number[];
  /** Layers of the reference model (for layer gradients of `models:` configs). */
  readonly numLayers: number;
  /** Every input reference; `SourceRef.input` indexes it. */
  readonly inputs: readonly string[];
  /** Output layer counts per module (slices and modules); undefined for `models:` configs. */
  readonly layers?: readonly ModuleLayers[];
}

export interface PlanHeaders {
  readonly reference: HeaderView;
  readonly base?: HeaderView;
  readonly models: readonly HeaderView[];
}

/** Tensor names (of the reference) whose rows index the vocabulary, for a tokenizer merge. */
export interface VocabularyPlan {
  /** Rows of the output embedding matrices (the output vocabulary, padded). */
  readonly rows: number;
  /** Which reference tensors are vocabulary-indexed. */
  readonly names: ReadonlySet<string>;
}

/** The saved dtype of a tensor stored as `stored`. */
export function outDtypeOf(config: MergeConfig, stored: string): string {
  return isFloat(stored) ? (config.outDtype ?? config.dtype ?? stored) : stored;
}

/** Checks that every merged tensor's parameters resolve (unknown or missing ones fail before any write). */
export function checkTensorParams(
  config: MergeConfig,
  method: MergeMethod,
  tensors: readonly PlannedOutput[],
): void {
  for (const p of tensors) if (p.kind === "merge") resolveContext(method, config, p.params, p.name);
}

/**
 * Plans a `models:` checkpoint merge: validates the whole-model parameters, plans every tensor, and
 * (for global-scope methods, whose statistics need every model's copy of a tensor) turns tensors
 * missing from some model into copies of the base. With `vocabulary`, its tensors take the output
 * vocabulary's row count and every model with matching columns.
 */
export function planCheckpointMerge(
  config: MergeConfig,
  method: MergeMethod,
  headers: PlanHeaders,
  refs: InputRefs,
  strict = false,
  vocabulary?: VocabularyPlan,
): CheckpointPlan {
  if (usesLayerLayout(config)) {
    throw new MergeInputError(
      "slices / modules configs are planned by planLayerMerge (they need an architecture)",
    );
  }
  const wholeGlobal = evaluateAll(config.parameters, "", 0);
  const wholeModels = refs.configIndex.map((ci) => evaluateAll(config.models[ci]!.parameters, "", 0));
  const whole = resolveParams(method, wholeGlobal, wholeModels);
  const scope = method.scopeOf(whole.params);
  const { tensors, warnings } = planMerge({
    reference: headers.reference,
    base: headers.base,
    models: headers.models,
    minModels: method.minModels,
    strict,
    ...(vocabulary ? { vocabulary: vocabulary.names } : {}),
  });
  if (scope === "global") {
    for (let i = 0; i < tensors.length; i++) {
      const p = tensors[i]!;
      if (p.kind === "merge" && p.models.length !== headers.models.length) {
        const w: MergeWarning = {
          kind: "copied",
          tensor: p.name,
          message: `tensor '${p.name}' is not present with a compatible shape in every model; a global-scope merge keeps the base tensor`,
        };
        if (strict) throw new MergeInputError(`${w.message} (--strict)`);
        warnings.push(w);
        tensors[i] = { ...p, kind: "copy", models: [] };
      }
    }
  }
  const index = new Map(refs.all.map((r, i) => [r, i]));
  const at = (ref: string) => index.get(ref)!;
  const keepRef = at(refs.base ?? refs.reference);
  const numLayers = countLayers(headers.reference.names());
  const planned = tensors.map((p): PlannedOutput => {
    const vocab = vocabulary?.names.has(p.name) === true;
    return {
      ...p,
      ...(vocab ? { shape: [vocabulary!.rows, p.shape[1]!], vocabulary: true } : {}),
      outDtype: outDtypeOf(config, p.storedDtype),
      reads: {
        keep: { input: keepRef, name: p.name },
        ...(refs.base !== undefined ? { base: { input: at(refs.base), name: p.name } } : {}),
        models: p.models.map((mi) => ({ input: at(refs.models[mi]!), name: p.name })),
      },
      params: {
        t: layerPosition(p.name, numLayers),
        global: [{ kind: "top" }],
        models: p.models.map((mi) => ({
          own: { kind: "model", index: refs.configIndex[mi]! },
          name: p.name,
        })),
      },
    };
  });
  checkTensorParams(config, method, planned);
  return {
    method,
    scope,
    whole,
    tensors: planned,
    warnings,
    configIndex: refs.configIndex,
    numLayers,
    inputs: refs.all,
  };
}

/** The shape a planned tensor is merged at: its common block, else its own shape. */
export function mergedShape(p: PlannedTensor): readonly number[] {
  return p.block ? [p.block.rows, p.block.cols] : p.shape;
}

/** The method's parameters for planned tensor `index` under `config` (filters by name, layer position). */
export function tensorParams(
  plan: CheckpointPlan,
  config: MergeConfig,
  index: number,
): { params: ParamMap; modelParams: ParamMap[] } {
  const p = plan.tensors[index]!;
  return resolveContext(plan.method, config, p.params, p.name);
}

/** Whether a tensor's values are computed (floats, and every merged tensor) rather than copied as stored. */
export function isComputed(p: PlannedTensor): boolean {
  return isFloat(p.storedDtype) || p.kind === "merge";
}

/** Bytes per element of a stored dtype. */
export function storedBytes(dtype: string): number {
  return FLOAT_BYTES[dtype] ?? elementSize(dtype as DType);
}

/** The config with replaced per-model parameters (e.g. candidate λ_i of a coefficient search). */
export function withModelParameters(
  config: MergeConfig,
  modelParameters?: readonly MergeConfig["models"][number]["parameters"][],
): MergeConfig {
  if (!modelParameters) return config;
  if (modelParameters.length !== config.models.length) {
    throw new MergeInputError(
      `modelParameters has ${modelParameters.length} entries for ${config.models.length} models`,
    );
  }
  return { ...config, models: config.models.map((m, i) => ({ ...m, parameters: modelParameters[i]! })) };
}
