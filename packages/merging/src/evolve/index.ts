// @x/merging/evolve: evolving a population of checkpoints (Evolver mode A standalone, mode B through a
// registered merge method, or CMA-ES over merge weights), as `x evolve` runs it; the evaluator factory queue
// workers load; and the genome merge glue the Evolver experiment reuses.
export {
  type EvolveEvaluator,
  type EvolveEvaluatorOptions,
  evolveEvaluator,
  evolveEvaluatorOptions,
  evolveEvaluatorSpec,
  registerZooScorer,
  type ScorerSpec,
  type ZooScorer,
} from "./candidate-evaluator.js";
export {
  ALGORITHMS,
  type CmaesSettings,
  CONFIG_KEYS,
  EVOLVE_DEFAULTS,
  type EvolveAlgorithm,
  type EvolveConfig,
  EvolveConfigError,
  type EvolveMergeBlock,
  EXAMPLE_CONFIG,
  loadEvolveConfig,
  parseEvolveConfig,
} from "./config.js";
export { EvaluatorError, runEvaluator } from "./evaluator.js";
export type { KeySchema } from "./keys.js";
export { type LayerGroups, layerGroups, layerIndex } from "./layer-groups.js";
export {
  type GenomeLayout,
  PopulationError,
  readGenome,
  readLayout,
  writeModel,
} from "./models.js";
export {
  type CoefficientMerge,
  checkStats,
  coefficientMerge,
  FULL_WEIGHT_MERGES,
  type GenomeTensor,
  MERGE_NAMES,
  type MergeName,
  type MergeSettings,
  MergeSetupError,
  mergeFunction,
  type SlotStats,
} from "./registry-merge.js";
export {
  type EvolveFitness,
  EvolveResumeError,
  type EvolveRunOptions,
  type EvolveRunResult,
  evolveResumeState,
  formatEvolveResult,
  runEvolve,
} from "./run.js";
export { readSlotStats, StatsFileError } from "./stats-files.js";
export {
  createEvolveTemporary,
  isEvolveTemporary,
  removeStaleEvolveTemporaries,
  type TemporaryKind,
} from "./temporaries.js";
