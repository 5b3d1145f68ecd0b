export * from "./conductors/index.js";
export * from "./feeder.js";
export * from "./feeders/index.js";
export * from "./identify/index.js";
export * from "./io/index.js";
export * from "./metrics/index.js";
export * from "./powerflow/index.js";
export * from "./solvers/index.js";
