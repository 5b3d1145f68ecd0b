export {
  type BranchFit,
  BranchFitError,
  type BranchSamples,
  branchLoss,
  carriesNoFlow,
  fitBranchLad,
  fitBranchLs,
  fitBranchRobust,
  type LadOptions,
  type RobustBranchFit,
} from "./branch-fit.js";
export { type SeriesGram, seriesGram } from "./gram.js";
export {
  type HiddenJunction,
  type HiddenJunctionFit,
  type HiddenJunctionOptions,
  type HiddenJunctionResult,
  identifyHiddenJunctions,
  insertHiddenJunctions,
} from "./hidden.js";
export { fitImpedancesJoint, type JointFitOptions } from "./joint-fit.js";
export { fitBranchLibrary, type LibraryConductor, type LibraryFit } from "./library.js";
export { checkMeterSeries, interpolateMissing, MeterDataError, type MeterSeries } from "./meter-data.js";
export { GridModelFileError, readGridModelBranches, writeGridModelFile } from "./model-file.js";
export {
  type BadDataOptions,
  type GridModel,
  type IdentifyOptions,
  type IdentifyProgress,
  identifyGrid,
  type ModelBranch,
  type ZeroInjectionBus,
} from "./pipeline.js";
export { mergeNegligibleBranches } from "./prepare.js";
export { type BranchEstimate, type ImpedanceOptions, identifyImpedances } from "./sweep.js";
export {
  identifyTopology,
  SingularMatrixError,
  type TopologyEstimate,
  type TopologyMethod,
  type TopologyOptions,
} from "./topology.js";
export { bfsOrder, childrenOf, primTree, TopologyError } from "./tree.js";
export {
  lossCorrection,
  type SeriesCorrection,
  searchTree,
  type TreeSearchOptions,
  type TreeSearchResult,
} from "./tree-search.js";
