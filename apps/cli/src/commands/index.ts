import type { Command } from "../command.js";

/**
 * Every command, loaded lazily so `x grid ...` never pays for TensorFlow.js start-up.
 * Keys are the command words; add one line per command.
 */
export const commands: Record<string, () => Promise<Command>> = {};
