import type { MergeDType } from "./dtype.js";

/** A scalar parameter value as YAML gives it. */
export type ScalarSetting = number | boolean | string;

/** `{filter, value}`: applies when `filter` is absent, `*`, or a substring of the tensor name. */
export interface ConditionalParameter {
  filter?: string;
  value: ScalarSetting | ScalarSetting[];
}

/**
 * A parameter setting in mergekit's YAML: a scalar; a list of numbers (a layer gradient, interpolated
 * over t = layer / (L - 1)); a list of non-numeric scalars (picked by t); or one or more conditional entries.
 */
export type ParameterSetting =
  | ScalarSetting
  | ScalarSetting[]
  | ConditionalParameter
  | ConditionalParameter[];

export type ParameterMap = Record<string, ParameterSetting>;

/** One input model: a local directory or safetensors file, with its per-model parameters. */
export interface ModelEntry {
  model: string;
  parameters: ParameterMap;
}

/** A validated merge configuration (the mergekit `models:` subset). */
export interface MergeConfig {
  mergeMethod: string;
  /** The base model reference; when it is not among `models` it is still an input (mergekit adds it). */
  baseModel?: string;
  models: ModelEntry[];
  /** Top-level (global / default) parameters. */
  parameters: ParameterMap;
  /** Compute dtype: inputs are cast to it on load. */
  dtype?: MergeDType;
  /** Save dtype. */
  outDtype?: MergeDType;
  /** Where tokenizer files are copied from: "base" (the default donor) or a model reference. */
  tokenizerSource?: string;
}
