export {
  type Bounds,
  CmaEs,
  type CmaEsOptions,
  type MinimizeOptions,
  type MinimizeResult,
  minimizeCmaEs,
  reflectIntoBox,
} from "./cmaes.js";
export {
  type ParameterControl,
  type Params,
  ScheduledControl,
  ShadeControl,
  type ShadeOptions,
} from "./control.js";
export {
  type CrossoverSpec,
  crossoverStream,
  DenseBinomialStream,
  ExponentialStream,
  ForcedCoordinateStream,
  GeometricBinomialStream,
  type PositionStream,
  SPARSE_CR_THRESHOLD,
} from "./crossover.js";
export {
  DifferentialEvolution,
  type DifferentialEvolutionOptions,
  type DifferentialEvolutionResult,
  type PopulationInit,
} from "./de.js";
export { CheckpointError, EvolutionConfigError, FitnessError } from "./errors.js";
export {
  type DevScore,
  type EvolverEvaluation,
  type EvolverOptions,
  type EvolverResult,
  evolve,
  type MergeFunction,
  referenceRandomProbability,
} from "./evolver.js";
export { type EvalInfo, evaluateAll, type FitnessFunction } from "./fitness.js";
export {
  buildChild,
  type ChildStats,
  drawDistinct,
  interpolationTerms,
  type MutantTerms,
  randomsNeeded,
  STRATEGIES,
  type Strategy,
  strategyTerms,
} from "./mutation.js";
export { Population, type PopulationOptions } from "./population.js";
export type { GenerationRecord, ProgressListener } from "./progress.js";
export {
  checkpointBytes,
  DirectoryRunStore,
  fromExactJson,
  type RunSnapshot,
  type RunStore,
  toExactJson,
} from "./run-store.js";
export {
  CADE_FMIN,
  CADE_HALF_PERIOD,
  type CosineOptions,
  cadeS2,
  cadeS3,
  cadeS4,
  cadeS5,
  clamp,
  constant,
  cosine,
  cosineValue,
  linear,
  type Schedule,
  type ScheduleContext,
  startWith,
  sum,
  uniformJitter,
} from "./schedules.js";
export { createWorkerFitness, type WorkerFitness, type WorkerFitnessOptions } from "./worker-fitness.js";
