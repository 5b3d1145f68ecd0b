export { armControl, armForcesJRand, type CadeArm } from "./arms.js";
export { averageGenomes, greedySoup, logitEnsembleAccuracy, populationDiversity } from "./baselines.js";
export {
  CADE_DEFAULTS,
  CADE_METADATA_KEY,
  type CadeCheckpointHooks,
  type CadeCheckpointSettings,
  type CadeDocument,
  type CadeRemoteFitness,
  cadeCheckpoint,
} from "./cade-checkpoint.js";
export {
  CADE_EVALUATOR_EXPORT,
  CADE_EVALUATOR_MODULE,
  type CadeFitnessOptions,
  cadeEvaluatorSpec,
  cadeFitnessEvaluator,
  concreteEngine,
  type FitnessSetRef,
  imageSetChecksum,
  loadFitnessSet,
} from "./evaluator.js";
export { accuracyPercent } from "./fitness.js";
export {
  type CadeOutcome,
  type CadeRunSettings,
  cadeDocument,
  cadeOutcome,
  type InitialRanking,
  rankInitialPopulation,
} from "./outcome.js";
export {
  buildPopulation,
  type CadePopulation,
  type CadePopulationOptions,
  cadePopulation,
  genomesChecksum,
  loadPopulation,
  type MemberRecipe,
  memberRecipes,
  type PopulationOptions,
} from "./population.js";
export { type CadeOptions, type CadeProgress, type CadeResult, runCade } from "./run.js";
export { CADE_RUN_FILE, CadeSettingsError, checkCadeRunSettings } from "./run-settings.js";
export {
  CADE_ARMS,
  type CadeArmOptions,
  type CadeData,
  type CadeDataOptions,
  cadeArmOf,
  loadCadeData,
} from "./setup.js";
