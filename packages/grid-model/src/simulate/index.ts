export { LoadModel, type LoadModelOptions, loadProfilesFor } from "./loads.js";
export { accuracyClassSigma, Meter, type MeteringOptions, quantize } from "./metering.js";
export {
  householdProfiles,
  ProfileError,
  parseShapeCsv,
  pvShape,
  readShapeCsv,
  type ShapeTable,
  sampleCyclic,
  weekShape,
} from "./shapes.js";
export {
  meteredVoltageRange,
  REALISTIC,
  type RemeterOptions,
  remeter,
  type SimulationOptions,
  type SmartMeterData,
  type SmartMeterSeries,
  simulateSmartMeters,
} from "./simulate.js";
