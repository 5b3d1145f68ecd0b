// Public API of @x/evolution. The distributed evaluator (BullMQ on Redis) is the subpath
// `@x/evolution/distributed`, so users who do not need it install nothing for it.

// CMA-ES
export {
  type Bounds,
  CmaEs,
  type CmaEsOptions,
  type CmaEsState,
  type MinimizeOptions,
  type MinimizeResult,
  minimizeCmaEs,
  type Objective,
  reflectIntoBox,
} from "./cmaes.js";
export {
  type ParameterControl,
  type Params,
  ScheduledControl,
  ShadeControl,
  type ShadeOptions,
  type ShadeState,
} from "./control.js";
export { type CrossoverSpec, SPARSE_CR_THRESHOLD } from "./crossover.js";
// Differential evolution
export {
  DifferentialEvolution,
  type DifferentialEvolutionOptions,
  type DifferentialEvolutionResult,
  type PopulationInit,
} from "./de.js";
// Errors
export {
  CheckpointError,
  EvaluationCancelledError,
  EvaluationTimeoutError,
  EvolutionConfigError,
  type FingerprintChange,
  FitnessError,
} from "./errors.js";
export {
  type Evaluator,
  type EvaluatorContext,
  type EvaluatorFactory,
  type EvaluatorSpec,
  type GenomeFitness,
  type ImportModule,
  loadEvaluator,
} from "./evaluator.js";
// Evolver
export {
  type DevScore,
  type EvolverEvaluation,
  type EvolverOptions,
  type EvolverResult,
  evolve,
  type MergeFunction,
  referenceRandomProbability,
} from "./evolver.js";
export {
  canonicalJson,
  describeChanges,
  fileDigest,
  fingerprintChanges,
  fingerprintHash,
} from "./fingerprint.js";
// Fitness evaluation: timeouts, cancellation, evaluators loadable by name, worker threads
export {
  describeCandidate,
  type EvalInfo,
  type FitnessFunction,
  type GuardOptions,
  guardFitness,
} from "./fitness.js";
// Ctrl-C / SIGTERM of a run (the first aborts it, a second forces the exit)
export { catchInterrupts, type Interrupts, signalExitCode } from "./interrupts.js";
export { STRATEGIES, type Strategy } from "./mutation.js";
export { Population, type PopulationOptions } from "./population.js";
export type { GenerationRecord, ProgressListener } from "./progress.js";
// Checkpoints and run fingerprints
export {
  DirectoryRunStore,
  type DirectoryRunStoreOptions,
  type RunSnapshot,
  type RunStore,
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
