export {
  accuracyPercent,
  armControl,
  armForcesJRand,
  averageGenomes,
  buildPopulation,
  CADE_ARMS,
  CADE_EVALUATOR_EXPORT,
  CADE_EVALUATOR_MODULE,
  CADE_RUN_FILE,
  type CadeArm,
  type CadeArmOptions,
  type CadeData,
  type CadeDataOptions,
  type CadeFitnessOptions,
  type CadeOptions,
  type CadeOutcome,
  type CadePopulation,
  type CadePopulationOptions,
  type CadeProgress,
  type CadeResult,
  type CadeRunSettings,
  CadeSettingsError,
  cadeArmOf,
  cadeDocument,
  cadeEvaluatorSpec,
  cadeFitnessEvaluator,
  cadeOutcome,
  cadePopulation,
  checkCadeRunSettings,
  concreteEngine,
  type FitnessSetRef,
  genomesChecksum,
  greedySoup,
  type InitialRanking,
  imageSetChecksum,
  loadCadeData,
  loadFitnessSet,
  loadPopulation,
  logitEnsembleAccuracy,
  type MemberRecipe,
  memberRecipes,
  type PopulationOptions,
  populationDiversity,
  rankInitialPopulation,
  runCade,
} from "./cade/index.js";
export {
  ACCEPTED_DTYPES,
  inferSpec,
  type LoadModelOptions,
  loadModel,
  SPEC_METADATA_KEY,
  saveModel,
} from "./checkpoint/safetensors.js";
export {
  type BuiltinDataset,
  FASHION_TRAIN_PER_CLASS,
  indicesByClass,
  isBuiltinDataset,
  loadBuiltinSplit,
  loadClassPool,
  loadData,
  loadImageFile,
  type PerClassSplit,
  predictionsChecksum,
  type SplitName,
  splitPerClass,
} from "./data/splits.js";
export { SnnCheckpointError, SnnConfigError, SnnDataError } from "./errors.js";
export {
  type EvaluateOptions,
  type EvaluateResult,
  evaluateCheckpoint,
  overriddenSettings,
} from "./eval/evaluate.js";
export {
  flattenTensors,
  type GenomeEntry,
  type GenomeLayout,
  genomeLayout,
  type InitOptions,
  initModel,
  replaceHead,
  SnnModel,
  unflattenGenome,
} from "./genome/layout.js";
export { argmax, FastSnn, type InferenceEngine, type LayerTrace } from "./infer/net.js";
export { simdAvailable } from "./infer/simd-mlp.js";
export {
  batchMoments,
  batchNormApply,
  connectTf,
  multiStepNeuron,
  spikeFunction,
  stopGradient,
  type Tf,
} from "./layer/tf.js";
export { describeNeuron, describeSpec, formatStages, parseStages } from "./model/describe.js";
export {
  ARCHITECTURE_KEYS,
  type ModelSpecOptions,
  modelSpecOf,
  NEURON_KEYS,
  NEURON_PRESETS,
  type NeuronOverrides,
  type NeuronPreset,
  neuronFromPreset,
} from "./model/options.js";
export {
  type Block,
  BN_EPS,
  BN_MOMENTUM,
  buildGraph,
  CONNECT_FUNCTIONS,
  type ConnectFunction,
  type Graph,
  INPUT_SIDE,
  INPUT_SIZE,
  type ModelSpec,
  type ParamEntry,
  type ParamRole,
  paramTable,
  type SewMlpSpec,
  type SewResNetSpec,
  type StageSpec,
  type Synapse,
  sewMlp,
  sewResNet,
  type Unit,
  validateSpec,
} from "./model/spec.js";
export { type BatchStats, TfSnn } from "./model/tf-net.js";
export {
  CADE_LIF,
  chargeCoefficients,
  ifNeuron,
  initialPotential,
  lif,
  type NeuronSpec,
  SPIKINGJELLY_LIF,
  validateNeuron,
} from "./neuron/config.js";
export { charge, neuronTrace, reset } from "./neuron/dynamics.js";
export type { OptionName } from "./options.js";
export { type CadeReport, formatCadeReport, formatTrainReport, type TrainReport } from "./report.js";
export {
  atan,
  heaviside,
  SIGMOID_4,
  type SurrogateSpec,
  sigmoid,
  surrogateGrad,
  surrogatePrimitive,
  validateSurrogate,
} from "./surrogate/index.js";
export { type AugmentOptions, makeBatch, sampleBeta, sampleGamma } from "./train/augment.js";
export { type AdamOptions, Optimizer, type OptimizerOptions, type SgdOptions } from "./train/optimizer.js";
export {
  type EpochRecord,
  readTrainState,
  TRAIN_STATE_FILE,
  type TrainState,
  type TrainStateMeta,
} from "./train/state.js";
export {
  ADAM_LR,
  type OptimizerChoice,
  optimizerOf,
  TRAIN_DEFAULTS,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  trainModel,
} from "./train/train.js";
export {
  TRAIN_METADATA_KEY,
  type TrainCheckpointHooks,
  type TrainCheckpointSettings,
  type TrainDocument,
  type TrainRecord,
  trainCheckpoint,
} from "./train/train-checkpoint.js";
