export { checkOutput, UsageError } from "./kit.js";
export { buildProgram, main, VERSION } from "./main.js";
export { createProgress, formatBytes, type Progress, ProgressBar } from "./progress.js";
