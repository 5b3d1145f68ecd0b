export { dtypeName, type MergeDType, parseDTypeName } from "./dtype.js";
export { MergeConfigError } from "./errors.js";
export {
  booleanParameter,
  countLayers,
  evaluateSetting,
  layerIndexOf,
  layerPosition,
  numberParameter,
  resolveParameter,
  type TensorContext,
} from "./params.js";
export { parseMergeConfig, validateMergeConfig } from "./parse.js";
export { referencedModels, tokenizerSettingsOf, usesLayerLayout } from "./refs.js";
export type {
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
export { mergeConfigHash, mergeConfigToYaml, toMergekitObject } from "./serialize.js";
export { parseParamSetting } from "./setting.js";
export { parseByteSize } from "./size.js";
