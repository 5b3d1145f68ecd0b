// Merge configuration (mergekit YAML subset), parameter resolution, sizes and dtype names.
export * from "./config/index.js";
// Streaming checkpoint merges (safetensors in, sharded safetensors out) and coefficient search.
export * from "./io/index.js";
// LoRA extraction into PEFT adapters.
export * from "./lora/index.js";
export {
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
  type TensorAux,
  type TensorMergeInput,
  type TensorVisit,
  tensorRng,
} from "./method.js";
export { type FisherMergeOptions, fisherMerge } from "./methods/fisher.js";
export { planSparsify, type SparsePlan, type Sparsifier, sparsifyDelta } from "./methods/gta.js";
// Built-in methods (registered on import) and their flat-vector entry points.
export { BUILTIN_METHODS } from "./methods/index.js";
export { regmeanMerge } from "./methods/regmean.js";
export { slerpVectors } from "./methods/slerp.js";
export type { RescaleMode } from "./methods/sparsify.js";
export { type TiesPcbOptions, tiesPcbMerge } from "./methods/ties-pcb.js";
// PCB-Merging on in-memory task vectors (reference mode) and its streaming statistics.
export {
  clampIndices,
  dropIndex,
  type NanGuard,
  PCB_DEFAULTS,
  PcbError,
  type PcbInter,
  type PcbOptions,
  type ResolvedPcbOptions,
  resolvePcbOptions,
} from "./pcb/options.js";
export { type PcbIntermediates, PcbPrepared, pcbMerge, pcbPrepare } from "./pcb/reference.js";
export { MagnitudeStats, ScoreStats } from "./pcb/score.js";
export * from "./pipeline/index.js";
export * from "./search/index.js";
