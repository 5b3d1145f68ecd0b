// Re-exports for the pipeline tests: the public package API plus tensor-core's key order.
export { sortKeys as sortKeysForTest } from "@x/tensor-core";
export * from "../../src/index.js";
