// @x/experiments: the reproduction experiments behind bench/results, one folder each. Each experiment is a
// function that returns its result object, plus a writer of `<name>.json` and `<name>.md`.
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
