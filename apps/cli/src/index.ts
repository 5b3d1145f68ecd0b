export type { Command } from "./command.js";
export { UsageError } from "./command.js";
export { main, resolveCommand } from "./main.js";
