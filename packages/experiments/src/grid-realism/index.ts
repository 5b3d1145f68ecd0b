export {
  GRID_REALISM_EFFECTS,
  type GridRealismOptions,
  type GridRealismResult,
  gridRealismMarkdown,
  runGridRealism,
  writeGridRealism,
} from "./experiment.js";
