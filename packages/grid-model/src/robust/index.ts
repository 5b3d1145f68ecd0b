export { type ImputeOptions, imputeMissing } from "./impute.js";
export {
  type BadDataReport,
  type BadMeter,
  type BadReading,
  badMeters,
  type Quantity,
  withoutReadings,
} from "./report.js";
export {
  chiSquaredQuantile,
  type ResidualTestOptions,
  type ResidualTestResult,
  testResiduals,
} from "./residuals.js";
export { findSpikes, type SpikeOptions } from "./spikes.js";
