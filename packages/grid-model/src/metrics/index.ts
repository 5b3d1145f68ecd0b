export * from "./contracted.js";
export * from "./metrics.js";
