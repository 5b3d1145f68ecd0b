export { formatBytes } from "@x/tensor-core";
export { checkOutput, UsageError } from "./kit.js";
export { buildProgram, main, VERSION } from "./main.js";
export { createProgress, type Progress, ProgressBar } from "./progress.js";
