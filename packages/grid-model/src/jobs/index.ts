export {
  type EvaluateModelFileOptions,
  evaluateModelFile,
  type ModelFileEvaluation,
} from "./evaluate-file.js";
export {
  type IdentifyMeterFileHooks,
  type IdentifyMeterFileOptions,
  identifyMeterFile,
  type LongReadOptions,
  type MeterFileIdentificationSummary,
  MeterFormatOptionsError,
  UnidentifiedExportError,
} from "./identify-file.js";
export {
  LoadProfilesError,
  type MeterFileSimulationSummary,
  type SimulateMeterFileHooks,
  type SimulateMeterFileOptions,
  type SimulationEffectKey,
  type SimulationEffectValues,
  SimulationOptionsError,
  simulateMeterFile,
  simulationEffectOptions,
} from "./simulate-file.js";
