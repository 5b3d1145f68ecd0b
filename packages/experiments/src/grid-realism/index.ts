export {
  GRID_REALISM_EFFECTS,
  type GridRealismCell,
  type GridRealismOptions,
  type GridRealismResult,
  gridRealismMarkdown,
  runGridRealism,
  writeGridRealism,
} from "./experiment.js";
export {
  runWeakBranches,
  type WeakBranchCell,
  type WeakBranchResult,
  weakBranchesMarkdown,
  weakBranchesSvg,
  writeWeakBranches,
} from "./weak-branches.js";
