// @x/merging/evolve: evolving a population of checkpoints with Evolver (mode A standalone, mode B through a
// registered merge method), as `x evolve` runs it; and the genome merge glue the Evolver experiment reuses.
export {
  EVOLVE_DEFAULTS,
  type EvolveConfig,
  EvolveConfigError,
  EXAMPLE_CONFIG,
  loadEvolveConfig,
} from "./config.js";
export { EvaluatorError, runEvaluator } from "./evaluator.js";
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
export { type EvolveRunOptions, type EvolveRunResult, runEvolve } from "./run.js";
export { readSlotStats, StatsFileError } from "./stats-files.js";
