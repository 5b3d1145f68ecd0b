/**
 * @x/grid-model — radial distribution feeders, their physics and smart-meter data, and the identification of
 * topology and line impedances from meter readings. Everything users import is listed here by name.
 */

// Conductor library.
export {
  type ConductorType,
  conductorById,
  conductorLibrary,
  conductorsPu,
  type LibraryFilter,
  type PhaseLineCode,
  positiveSequencePerKm,
  selectConductors,
} from "./conductors/index.js";
// Feeder model and the built-in IEEE feeders.
export {
  type Branch,
  type BranchInput,
  type BranchKind,
  type Bus,
  type BusInput,
  branchImpedancesPu,
  buildFeeder,
  busIndex,
  type Feeder,
  FeederError,
  type FeederInput,
  type FeederSource,
  nominalLoadsPu,
} from "./feeder.js";
export {
  builtinFeeder,
  builtinFeederNames,
  type ContractedBranch,
  type ContractionCriterion,
  type ContractionOptions,
  type ContractionResult,
  case69,
  contractBranches,
  contractIeee69,
  IEEE69_MERGE_DROP_PU,
  ieee13,
  ieee37,
  nominalBranchDrops,
  reduceUnbalancedFeeder,
  type UnbalancedFeederData,
} from "./feeders/index.js";
// Identification.
export {
  type BadDataOptions,
  type BranchEstimate,
  type BranchFit,
  BranchFitError,
  type BranchSamples,
  fitBranchLad,
  fitBranchLs,
  fitBranchRobust,
  fitImpedancesJoint,
  type GridModel,
  type IdentifyOptions,
  type IdentifyProgress,
  type ImpedanceOptions,
  identifyGrid,
  identifyImpedances,
  identifyTopology,
  type LadOptions,
  type LibraryConductor,
  MeterDataError,
  type MeterSeries,
  type ModelBranch,
  mergeNegligibleBranches,
  SingularMatrixError,
  searchTree,
  TopologyError,
  type TopologyEstimate,
  type TopologyMethod,
  type TopologyOptions,
  type TreeSearchOptions,
  type TreeSearchResult,
} from "./identify/index.js";
// Reading and writing data.
export {
  type CsvReadOptions,
  type CsvWriteOptions,
  FEEDER_FORMAT,
  feederFromJson,
  feederToJson,
  feederToMatpower,
  feederToOpenDss,
  type LongFormatOptions,
  loadFeeder,
  type ModelToFeederOptions,
  modelToFeeder,
  parseFeederJson,
  parseMatpower,
  parseMeterReadings,
  parseOpenDss,
  parseSmartMeterCsv,
  readMeterReadings,
  readSmartMeterCsv,
  type SkippedRow,
  SMARTMETER_FORMAT,
  SmartMeterCsvError,
  writeSmartMeterCsv,
} from "./io/index.js";
// Metrics.
export {
  type BranchError,
  type ContractedTopologyMetrics,
  type EvaluateOptions,
  evaluateContractedTopology,
  evaluateIdentification,
  type IdentificationMetrics,
  type IdentifiedBranch,
  MetricsError,
} from "./metrics/index.js";
// Power flow.
export {
  type BusLoadsPu,
  currentSquared,
  distflowResidual,
  type LinDistFlowResult,
  linDistFlow,
  PowerFlowError,
  type PowerFlowResult,
  pathSumMatrices,
  RadialSweep,
  type SweepOptions,
  sendingFromReceiving,
  solvePowerFlow,
  voltageDropReceiving,
  voltageDropSending,
} from "./powerflow/index.js";

// Bad data.
export {
  type BadDataReport,
  type BadMeter,
  type BadReading,
  findSpikes,
  imputeMissing,
  type Quantity,
  type ResidualTestOptions,
  type SpikeOptions,
  testResiduals,
} from "./robust/index.js";
// Smart-meter simulator.
export {
  accuracyClassSigma,
  type MeteringOptions,
  ProfileError,
  REALISTIC,
  type RemeterOptions,
  readShapeCsv,
  remeter,
  type ShapeTable,
  type SimulationOptions,
  type SmartMeterData,
  type SmartMeterSeries,
  simulateSmartMeters,
} from "./simulate/index.js";

// LP solvers (the "lp" LAD engine).
export {
  createLpSolver,
  DEFAULT_SOLVER,
  type LinearProgram,
  LpError,
  type LpSolution,
  type LpSolver,
  type SolverName,
  SolverUnavailableError,
} from "./solvers/index.js";
