export {
  type CadeExperimentOptions,
  type CadeExperimentResult,
  type CadeScale,
  DEFAULT_CADE_SCALE,
  runCadeExperiment,
} from "./cade/index.js";
