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

/** One input model: a local directory or checkpoint file, with its per-model parameters. */
export interface ModelEntry {
  model: string;
  parameters: ParameterMap;
}

/** One source of an output slice: layers [start, end) of a model, with its own parameters. */
export interface SliceSource {
  model: string;
  /** Half-open layer range [start, end) of the source model. */
  layerRange: [number, number];
  parameters: ParameterMap;
}

/**
 * An output slice: its sources (all with the same number of layers) are merged layer by layer into
 * consecutive output layers. One source = passthrough stacking.
 */
export interface SliceEntry {
  sources: SliceSource[];
  /** The slice's own base model (default: the config's `base_model`). */
  baseModel?: string;
  parameters: ParameterMap;
  /** Accepted for mergekit compatibility; mergekit does not use it either. */
  residualWeight?: number;
}

/** One module of a multi-module architecture (e.g. a vision tower and a text decoder): models or slices. */
export interface ModuleEntry {
  models?: ModelEntry[];
  slices?: SliceEntry[];
  parameters: ParameterMap;
}

/** Where an added token's embedding row comes from. */
export type TokenEmbeddingSource =
  /** The token's own row in this model. */
  | { kind: "model"; model: string }
  /** Another token's row (by text or id, in that model's own vocabulary). */
  | { kind: "model_token"; model: string; token?: string; tokenId?: number }
  /** A row of zeros. */
  | { kind: "zero" };

/** Settings of one token of the output vocabulary (`tokenizer.tokens`). */
export interface TokenSettings {
  /** Where its row comes from (default: chosen as for any other token). */
  source?: TokenEmbeddingSource;
  /** Use `source` in every model, even those whose vocabulary has the token. */
  force: boolean;
}

/** The `tokenizer:` block (or `tokenizer_source`): how the output vocabulary is built. */
export interface TokenizerSettings {
  /** "union" (every input's tokens), "base", or a model reference. */
  source: string;
  /** Tokens added to the output vocabulary (when missing) and how their rows are built. */
  tokens: Record<string, TokenSettings>;
  /** Rows of the embedding matrices rounded up to a multiple of this (padding rows = mean row). */
  padToMultipleOf?: number;
}

/** A validated merge configuration (mergekit's YAML: `models`, `slices` or `modules`). */
export interface MergeConfig {
  mergeMethod: string;
  /** The base model reference; when it is not among `models` it is still an input (mergekit adds it). */
  baseModel?: string;
  /** The input models (empty when the config uses `slices` or `modules`). */
  models: ModelEntry[];
  /** Output slices (layer stacking and per-slice merges); needs a known architecture. */
  slices?: SliceEntry[];
  /** Per-module models or slices of multi-module architectures. */
  modules?: Record<string, ModuleEntry>;
  /** Top-level (global / default) parameters. */
  parameters: ParameterMap;
  /** Compute dtype: inputs are cast to it on load. */
  dtype?: MergeDType;
  /** Save dtype. */
  outDtype?: MergeDType;
  /**
   * mergekit's `tokenizer_source`: "union", "base" or a model reference — the output vocabulary is
   * built from it and the embedding rows are permuted to match. Exclusive with `tokenizer`.
   */
  tokenizerSource?: string;
  /** mergekit's `tokenizer:` block. Exclusive with `tokenizerSource`. */
  tokenizer?: TokenizerSettings;
  /** "auto" (the inputs' most common template), a built-in name (alpaca, chatml, llama3, mistral, exaone) or a Jinja template. */
  chatTemplate?: string;
  /**
   * Architecture definition files (JSON, mergekit's format) added to the built-in table; relative
   * paths are resolved like model paths. An x extension (mergekit has no such key).
   */
  architectureFiles?: string[];
}
