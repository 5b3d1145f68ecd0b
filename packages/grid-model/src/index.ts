export {};
export * from "./solvers/index.js";
