// Public API of @x/demo for Node: the static server and export that `x demo` wires, and the data
// contract of the tour's results (also at `@x/demo/tour-schema`).

export { BENCH_FILES } from "./data/bench-schema.js";
export { DemoDataError } from "./data/errors.js";
export {
  DATA_INDEX_FILE,
  type DataIndex,
  type DemoData,
  loadDemoData,
  type PanelSource,
  parseDataIndex,
  type ReadJson,
} from "./data/load.js";
export {
  type BranchError,
  type CadeSchedule,
  type EvolutionRun,
  type EvolutionTour,
  type FitnessCurve,
  type GridSweepPoint,
  type GridTour,
  type IdentifiedEdge,
  type MembraneTrace,
  type MergeMethodResult,
  type MergingTour,
  type NotRun,
  parseTourResult,
  type SnnArm,
  type SnnTour,
  type SpikeRaster,
  type TaskCountPoint,
  TOUR_FILE,
  TOUR_FORMAT,
  TOUR_VERSION,
  type TourResult,
  TourResultSchema,
  type TrueEdge,
} from "./data/tour-schema.js";
export { defaultAppDir } from "./server/app-dir.js";
export { DemoServerError } from "./server/errors.js";
export { type ExportStaticDemoOptions, exportStaticDemo, type StaticDemoExport } from "./server/export.js";
export { type DemoServer, type ServeDemoOptions, serveDemo } from "./server/serve.js";
