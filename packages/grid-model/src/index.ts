export * from "./feeder.js";
export * from "./feeders/index.js";
export * from "./powerflow/index.js";
export * from "./solvers/index.js";
