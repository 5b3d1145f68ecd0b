// @x/merging: the public API, every name listed explicitly (the statements are ordered by module):
// merge methods (the MergeMethod interface, registry, parameter resolution, the built-ins' flat-vector
// forms), the in-memory API (mergeTensors, mergeFlat, MergeRun), checkpoint merges (mergeCheckpoints,
// PreparedCheckpointMerge, the planners, output guards' errors), mergekit YAML, architecture
// definitions, tokenizer merges, PCB on in-memory task vectors, coefficient search, and LoRA extraction. More specialised entry points: `@x/merging/pcb`
// (PCB's options, index rules and row statistics), `@x/merging/config` (mergekit YAML),
// `@x/merging/search` (coefficient search) and `@x/merging/evolve` (evolving a population of
// checkpoints with Evolver).

export {
  ARCHITECTURES_ENV,
  type ArchitectureDefinition,
  ArchitectureError,
  ArchitectureTable,
  builtinArchitectures,
  type ConfigJson,
  type ModelClass,
  type ModuleDefinition,
  type ModuleLayout,
  parseArchitectureDefinition,
  type WeightTemplate,
} from "./architecture/index.js";
export {
  type ConditionalParameter,
  type MergeConfig,
  MergeConfigError,
  type MergeDType,
  type ModelEntry,
  type ModuleEntry,
  mergeConfigHash,
  mergeConfigToYaml,
  type ParameterMap,
  type ParameterSetting,
  parseByteSize,
  parseDTypeName,
  parseMergeConfig,
  parseParamSetting,
  referencedModels,
  type ScalarSetting,
  type SliceEntry,
  type SliceSource,
  type TokenEmbeddingSource,
  type TokenizerSettings,
  type TokenSettings,
} from "./config/index.js";
export {
  type FlatTensor,
  type MergeAuxDicts,
  type MergeFlatAux,
  type MergeFlatInput,
  type MergeSettings,
  type MergeTensor,
  type MergeTensorsInput,
  mergeFlat,
  mergeTensors,
  type RawParams,
  type TensorDict,
} from "./engine/merge-tensors.js";
export { countNonFinite } from "./engine/nonfinite.js";
export { MergeRun, type MergeRunSpec, type PassStep, type TensorMergeRequest } from "./engine/run.js";
export { MergeInputError, NonFiniteInputError, OutputDirError, OutputLockedError } from "./errors.js";
export { extractBlock, insertBlock } from "./exec/blocks.js";
export type { MergeProgressEvent } from "./exec/events.js";
export type { FastLinearJob, LinearDType, RawTensor } from "./exec/fused-linear.js";
export { type MergeCheckpointsOptions, mergeCheckpoints } from "./exec/merge-checkpoints.js";
export {
  type MergeCheckpointsResult,
  PreparedCheckpointMerge,
  type PrepareMergeOptions,
  prepareCheckpointMerge,
  type WriteMergeOptions,
} from "./exec/prepared.js";
export { formatMergeSummary } from "./exec/summary.js";
export { AUX_FILES, auxPathOf } from "./io/aux-files.js";
export {
  acquireOutputLock,
  checkOutputDir,
  lockPathOf,
  type OutputCheckOptions,
  type OutputLock,
  removeStaleTemporaries,
} from "./io/output-guard.js";
export { openModel, resolveModelPath } from "./io/source.js";
export type { StoredTensorInfo, TensorSource } from "./io/types.js";
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  type ExtractLoraOptions,
  type ExtractLoraResult,
  extractLora,
  formatLoraExtraction,
  LoraExtractionError,
  type LoraModuleReport,
  type ModuleKind,
  openAnyCheckpoint,
  type SvdOptions,
  type TruncatedSvd,
  truncatedSvd,
} from "./lora/index.js";
export {
  type AuxInput,
  checkAuxGiven,
  type DenseLinearFastPath,
  type DenseLinearPlan,
  type FastDType,
  type FastGlobalContext,
  FastGlobalNonFinite,
  type FastGlobalSession,
  FastGlobalUnsupported,
  type FastMergePiece,
  type FastPath,
  type GlobalMergeContext,
  type GlobalMergeSession,
  type GlobalPass,
  type GlobalTensorInfo,
  getMethod,
  hasMethod,
  listMethods,
  type MergeMethod,
  MergeMethodError,
  type ParamMap,
  type ParamSpec,
  type ParamValue,
  registerMethod,
  resolveParams,
  type StoredGlobalFastPath,
  type TensorAux,
  type TensorMergeInput,
  type TensorVisit,
  tensorRng,
} from "./method.js";
export { describeMethod, formatMethodDocs, type MethodDoc, type MethodParamDoc } from "./method-doc.js";
// Built-in methods (registered on import) and the flat-vector forms of the data-dependent ones.
export { type FisherMergeOptions, fisherMerge } from "./methods/fisher.js";
export { planSparsify, type SparsePlan, type Sparsifier, sparsifyDelta } from "./methods/gta.js";
export { BUILTIN_METHODS } from "./methods/index.js";
export type { PcbMode } from "./methods/pcb.js";
export { defaultMemoryBudget } from "./methods/pcb-node.js";
export { regmeanMerge } from "./methods/regmean.js";
export { slerpVectors } from "./methods/slerp.js";
export type { RescaleMode } from "./methods/sparsify.js";
export { type TiesPcbOptions, tiesPcbMerge } from "./methods/ties-pcb.js";
export {
  type NanGuard,
  PCB_DEFAULTS,
  PcbError,
  type PcbInter,
  type PcbOptions,
} from "./pcb/options.js";
export { type PcbIntermediates, PcbPrepared, pcbMerge, pcbPrepare } from "./pcb/reference.js";
export { type LayerPlanInput, planLayerMerge } from "./plan/layers.js";
export type { ParamContext, ParamPath } from "./plan/params.js";
export {
  type CheckpointPlan,
  type InputRefs,
  type ModuleLayers,
  type PlanHeaders,
  type PlannedOutput,
  planCheckpointMerge,
  planInputs,
  type SourceRef,
  type TensorReads,
  type VocabularyPlan,
} from "./plan/plan.js";
export {
  EMBEDDING_PATTERNS,
  type HeaderView,
  isEmbeddingLike,
  type MergeWarning,
  type PlanInput,
  type PlannedTensor,
  planMerge,
} from "./plan/tensors.js";
export {
  type CheckpointSearchOptions,
  type CheckpointSearchResult,
  type CoefficientObjective,
  type CoefficientSearchOptions,
  type CoefficientSearchResult,
  type CommandEvaluatorOptions,
  commandEvaluator,
  type DirectoryEvaluator,
  EvaluatorError,
  type PcbLambdaSearchInput,
  type PcbLambdaSearchResult,
  parseScore,
  type SearchRecord,
  type Split,
  searchCheckpointCoefficients,
  searchCoefficients,
  searchPcbLambdas,
} from "./search/index.js";
export {
  type AddedToken,
  type BuiltVocabulary,
  buildVocabulary,
  builtinChatTemplates,
  type EmbeddingInput,
  type PermuteOptions,
  permuteEmbeddings,
  resolveChatTemplate,
  TokenizerError,
  type TokenizerInput,
  TokenizerJson,
  type TokenizerJsonObject,
} from "./tokenizer/index.js";
