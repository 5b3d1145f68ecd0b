// Shared helpers for method modules: input checks and typed parameter access.

import {
  type MergeMethod,
  MergeMethodError,
  type ParamMap,
  type ParamSpec,
  type TensorMergeInput,
} from "../method.js";

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/**
 * Checks model count, lengths and base presence of a per-tensor input; returns numel.
 * Errors name the method and the tensor.
 */
export function checkInput(method: MergeMethod, input: TensorMergeInput): number {
  const { name, shape, base, models, modelParams } = input;
  const d = numelOf(shape);
  const where = `${method.name}: tensor '${name}'`;
  if (models.length < method.minModels) {
    throw new MergeMethodError(`${where}: needs at least ${method.minModels} model(s), got ${models.length}`);
  }
  if (method.maxModels !== undefined && models.length > method.maxModels) {
    throw new MergeMethodError(
      `${where}: accepts at most ${method.maxModels} model(s), got ${models.length}`,
    );
  }
  if (modelParams.length !== models.length) {
    throw new MergeMethodError(`${where}: ${modelParams.length} parameter sets for ${models.length} models`);
  }
  if (method.base === "required" && base === undefined)
    throw new MergeMethodError(`${where}: needs a base model`);
  if (base !== undefined && base.length !== d) {
    throw new MergeMethodError(
      `${where}: base has ${base.length} elements, shape [${shape.join(", ")}] needs ${d}`,
    );
  }
  for (let i = 0; i < models.length; i++) {
    if (models[i].length !== d) {
      throw new MergeMethodError(
        `${where}: model ${i} has ${models[i].length} elements, shape [${shape.join(", ")}] needs ${d}`,
      );
    }
  }
  return d;
}

export function num(p: ParamMap, key: string): number {
  const v = p[key];
  if (typeof v !== "number")
    throw new MergeMethodError(`parameter '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function bool(p: ParamMap, key: string): boolean {
  const v = p[key];
  if (typeof v !== "boolean") {
    throw new MergeMethodError(`parameter '${key}' must be a boolean, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function str(p: ParamMap, key: string): string {
  const v = p[key];
  if (typeof v !== "string")
    throw new MergeMethodError(`parameter '${key}' must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Per-model numeric parameter as a Float64Array aligned with the models. */
export function perModel(modelParams: readonly ParamMap[], key: string): Float64Array {
  const out = new Float64Array(modelParams.length);
  for (let i = 0; i < modelParams.length; i++) out[i] = num(modelParams[i], key);
  return out;
}

export const tensorScope = (): "tensor" => "tensor";

// Parameter specs shared by several methods (mergekit names and defaults).
export const WEIGHT: ParamSpec = {
  name: "weight",
  scope: "model",
  type: "number",
  default: 1,
  description: "Per-model weight w_i (mergekit requires it; defaults to 1 here).",
};
export const DENSITY: ParamSpec = {
  name: "density",
  scope: "model",
  type: "number",
  default: 1,
  min: 0,
  max: 1,
  description: "Fraction of each task vector's entries kept (1 = no sparsification).",
};
export const LAMBDA: ParamSpec = {
  name: "lambda",
  scope: "global",
  type: "number",
  default: 1,
  description: "Scaling of the merged task vector: θ₀ + λ·τ.",
};
export const INT8_MASK: ParamSpec = {
  name: "int8_mask",
  scope: "global",
  type: "boolean",
  default: false,
  description: "Accepted for mergekit compatibility; mask storage type only, results are identical.",
};
export function normalizeSpec(def: boolean): ParamSpec {
  return {
    name: "normalize",
    scope: "global",
    type: "boolean",
    default: def,
    description: "Divide the weighted sum by the sum of (kept) weights.",
  };
}
export function rescaleSpec(def: boolean): ParamSpec {
  return {
    name: "rescale",
    scope: "global",
    type: "boolean",
    default: def,
    description: "Rescale each sparsified task vector (see rescale_mode).",
  };
}
