// @x/experiments: the reproduction experiments behind bench/results, one folder each. Each experiment is a
// function that returns its result object, plus a writer of `<name>.json` and `<name>.md`.
export {
  type CadeExperimentOptions,
  type CadeExperimentResult,
  type CadeScale,
  DEFAULT_CADE_SCALE,
  QUICK_CADE_SCALE,
  runCadeExperiment,
  type SeedResult as CadeSeedResult,
} from "./cade/index.js";
export {
  EVOLVER_DEFAULTS,
  type EvolverOptions,
  type EvolverReport,
  evolverExperimentOptions,
  evolverMarkdown,
  readEvolverParts,
  renderEvolverResults,
  runEvolver,
  writeEvolverResults,
} from "./evolver/index.js";
export {
  GRID_REALISM_EFFECTS,
  type GridRealismOptions,
  type GridRealismResult,
  gridRealismMarkdown,
  runGridRealism,
  runWeakBranches,
  type WeakBranchResult,
  writeGridRealism,
  writeWeakBranches,
} from "./grid-realism/index.js";
export {
  GRID_SWEEP_DEFAULTS,
  type GridSweepCell,
  type GridSweepDoc,
  type GridSweepLpCell,
  GridSweepOptionError,
  type GridSweepOptions,
  gridSweepMarkdown,
  readGridSweepResults,
  renderExact,
  runGridSweep,
  SIMULATION_ASSUMPTIONS,
  writeGridSweepResults,
} from "./grid-sweep/index.js";
export {
  ExperimentOptionError,
  LAMBDA_ALL,
  lambdaRange,
  MERGING_8TASK_DEFAULTS,
  MERGING_8TASK_METHODS,
  type MergeCall,
  type MergeInputs,
  type Merging8TaskOptions,
  type Merging8TaskReport,
  mergeBackbone,
  mergeInputs,
  merging8TaskMarkdown,
  runMerging8Task,
  writeMerging8TaskResults,
  type ZooSetting,
  zooConfigFor,
} from "./merging-8task/index.js";
export { type ExperimentHooks, type MachineInfo, machineInfo, writeResultFiles } from "./results.js";
export {
  DEMO_TOUR_CONFIG,
  DEMO_TOUR_SECTIONS,
  type DemoTour,
  DemoTourAborted,
  type DemoTourOptions,
  type DemoTourSection,
  demoTourSummary,
  runDemoTour,
  type TourSummaryRow,
} from "./tour/index.js";
export { safetensorsTour } from "./tour/safetensors.js";
