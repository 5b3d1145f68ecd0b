// @x/zoo: a small seeded model zoo on MNIST / Fashion-MNIST (tasks, MLP model, training, cache, evaluation,
// Fisher / Gram statistics). Everything a user imports is listed here.
export { buildZoo } from "./build.js";
export {
  configHash,
  defaultZooConfig,
  type PhaseConfig,
  quickZooConfig,
  withFinetuneOptimizer,
  ZOO_BUILD_WORKERS,
  ZOO_CACHE_DIR,
  ZOO_VERSION,
  type ZooConfig,
  zooCacheRoot,
  zooDir,
} from "./config.js";
export { type EvalTask, evaluateTasks } from "./evaluate.js";
export {
  type ExpertStatKind,
  type ExpertStatsFile,
  ExpertStatsOptionError,
  type ExpertStatsOptions,
  type ExpertStatsResult,
  writeExpertStats,
} from "./expert-stats.js";
export { formatExpertStats, formatModelEvaluation, formatZooSummary } from "./format.js";
export { type FlatHead, type FlatImages, mlpAccuracy, mlpFeatures } from "./forward.js";
export {
  evaluateLiveBundle,
  LIVE_BUNDLE_DIR,
  LIVE_BUNDLE_FORMAT,
  LIVE_BUNDLE_MANIFEST,
  LIVE_BUNDLE_VERSION,
  type LiveBundle,
  LiveBundleError,
  type LiveManifest,
  type LiveSection,
  type LiveTaskInfo,
  liveBundleFiles,
  openLiveBundle,
  parseLiveManifest,
} from "./live-bundle.js";
export {
  LIVE_TEST_PER_TASK,
  type LiveMergeBundleResult,
  readLiveMergeBundle,
  type WriteLiveMergeBundleOptions,
  writeLiveMergeBundle,
} from "./live-bundle-writer.js";
export {
  type BackboneTensor,
  backboneKeys,
  backboneLayout,
  backboneSize,
  cloneHead,
  cloneParams,
  DEFAULT_ARCH,
  featureSize,
  flattenBackbone,
  type Head,
  initBackbone,
  initHead,
  layerShapes,
  type MlpArch,
  type Param,
  type Params,
  unflattenBackbone,
} from "./model.js";
export {
  fisherDiagonal,
  GRAM_RIDGE,
  gramWithRidge,
  HEAD_STATS_BIAS,
  HEAD_STATS_WEIGHT,
  layerGrams,
  type StatsOptions,
} from "./stats.js";
export { evaluateModelDir, type ModelEvaluation, readBackbone, ZooStoreError } from "./store.js";
export {
  buildZooData,
  PRETRAIN_CLASSES,
  type SourceName,
  type SplitSizes,
  TASKS,
  type TaskData,
  type TaskSpec,
  type TransformName,
  type ZooData,
} from "./tasks.js";
export { getTf, type Tf } from "./tf.js";
export { type TrainOptions, type TrainResult, type TrainTask, train } from "./train.js";
export type { BuildOptions, Expert, Zoo, ZooSummary } from "./types.js";
