export * from "./branch-fit.js";
export { fitImpedancesJoint, type JointFitOptions } from "./joint-fit.js";
export * from "./library.js";
export * from "./meter-data.js";
export * from "./pipeline.js";
export { mergeNegligibleBranches } from "./prepare.js";
export { weightedMedian } from "./stats.js";
export * from "./sweep.js";
export * from "./topology.js";
export { bfsOrder, childrenOf, primTree, TopologyError } from "./tree.js";
export {
  lossCorrection,
  type SeriesCorrection,
  searchTree,
  type TreeSearchOptions,
  type TreeSearchResult,
} from "./tree-search.js";
