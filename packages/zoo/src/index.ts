// @x/zoo: a small seeded model zoo on MNIST / Fashion-MNIST (tasks, MLP model, training, cache, evaluation,
// Fisher / Gram statistics). Everything a user imports is listed here.
export { buildZoo } from "./build.js";
export {
  configHash,
  defaultZooConfig,
  type PhaseConfig,
  quickZooConfig,
  withFinetuneOptimizer,
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
export {
  backboneKeys,
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
  type SplitSizes,
  TASKS,
  type TaskData,
  type TaskSpec,
  type ZooData,
} from "./tasks.js";
export { getTf, type Tf } from "./tf.js";
export { type TrainOptions, type TrainResult, type TrainTask, train } from "./train.js";
export type { BuildOptions, Expert, Zoo, ZooSummary } from "./types.js";
