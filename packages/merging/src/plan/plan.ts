// The planner of checkpoint merges: config + method + the inputs' headers → the per-tensor tasks
// (merge or copy, which models, block cuts, saved dtype), the whole-model parameters, and the
// fast path each task may take. Pure: no file is read here (the executor opens the inputs and hands
// their headers in), so every decision is unit-tested without I/O.

import { type DType, elementSize } from "@x/tensor-core";
import {
  countLayers,
  evaluateSetting,
  layerPosition,
  type MergeConfig,
  type ParameterSetting,
  type ScalarSetting,
} from "../config/index.js";
import { MergeInputError } from "../errors.js";
import { type MergeMethod, type ParamMap, resolveParams } from "../method.js";
import { type HeaderView, type MergeWarning, type PlannedTensor, planMerge } from "./tensors.js";

/** Which model references a merge opens, and how the merged models map to `config.models`. */
export interface InputRefs {
  /** The base model reference, when the method uses one and the config names it. */
  readonly base?: string;
  /** The merged models' references (the base excluded when the method uses one). */
  readonly models: readonly string[];
  /** config.models index of each merged model (for its per-model parameters). */
  readonly configIndex: readonly number[];
  /** The model whose names, shapes and order the output follows: the base, else the first model. */
  readonly reference: string;
}

/** The inputs of `config` for `method` (mergekit skips the base when it is also listed among the models). */
export function planInputs(config: MergeConfig, method: MergeMethod): InputRefs {
  const usesBase = method.base !== "none";
  if (method.base === "required" && config.baseModel === undefined) {
    throw new MergeInputError(`merge method '${method.name}' needs 'base_model'`);
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
  return {
    ...(usesBase && config.baseModel !== undefined ? { base: config.baseModel } : {}),
    models,
    configIndex,
    reference,
  };
}

const FLOAT_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };
const isFloat = (dt: string) => dt in FLOAT_BYTES;

/** A planned tensor with its saved dtype. */
export interface PlannedOutput extends PlannedTensor {
  /** out_dtype, else dtype, else the stored dtype (non-float tensors keep theirs). */
  readonly outDtype: string;
}

export interface CheckpointPlan {
  readonly method: MergeMethod;
  readonly scope: "tensor" | "global";
  /** Parameters resolved for the whole model (no per-tensor filters): global sessions use these. */
  readonly whole: { readonly params: ParamMap; readonly modelParams: readonly ParamMap[] };
  readonly tensors: readonly PlannedOutput[];
  readonly warnings: readonly MergeWarning[];
  /** config.models index of each merged model. */
  readonly configIndex: readonly number[];
  /** Layers of the reference model (for layer gradients). */
  readonly numLayers: number;
}

export interface PlanHeaders {
  readonly reference: HeaderView;
  readonly base?: HeaderView;
  readonly models: readonly HeaderView[];
}

/** Evaluates every setting of a parameter map for one tensor (unmatched filters drop out). */
export function evaluateAll(
  params: Readonly<Record<string, ParameterSetting>>,
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
 * Plans a checkpoint merge: validates the whole-model parameters, plans every tensor, and (for
 * global-scope methods, whose statistics need every model's copy of a tensor) turns tensors missing
 * from some model into copies of the base.
 */
export function planCheckpointMerge(
  config: MergeConfig,
  method: MergeMethod,
  headers: PlanHeaders,
  refs: InputRefs,
  strict = false,
): CheckpointPlan {
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
  const outDtype = (stored: string) =>
    isFloat(stored) ? (config.outDtype ?? config.dtype ?? stored) : stored;
  return {
    method,
    scope,
    whole,
    tensors: tensors.map((p) => ({ ...p, outDtype: outDtype(p.storedDtype) })),
    warnings,
    configIndex: refs.configIndex,
    numLayers: countLayers(headers.reference.names()),
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
  const t = layerPosition(p.name, plan.numLayers);
  const g = evaluateAll(config.parameters, p.name, t);
  const ms = p.models.map((mi) => evaluateAll(config.models[plan.configIndex[mi]!]!.parameters, p.name, t));
  return resolveParams(plan.method, g, ms);
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
