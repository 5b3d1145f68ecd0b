import type { Command } from "../command.js";

/**
 * Every command, loaded lazily so `x grid ...` never pays for TensorFlow.js start-up.
 * Keys are the command words; add one line per command.
 */
export const commands: Record<string, () => Promise<Command>> = {
  "bench evolver": async () => (await import("./bench-evolver.js")).benchEvolver,
  evolve: async () => (await import("./evolve.js")).evolveCommand,
  "grid simulate": async () => (await import("./grid-simulate.js")).gridSimulate,
  "grid identify": async () => (await import("./grid-identify.js")).gridIdentify,
  "grid evaluate": async () => (await import("./grid-evaluate.js")).gridEvaluate,
  "bench grid": async () => (await import("./bench-grid.js")).benchGrid,
  "bench merging": async () => (await import("./bench-merging.js")).benchMerging,
  merge: async () => (await import("./merge.js")).default,
  quickstart: () => import("./quickstart.js").then((m) => m.command),
  safetensors: () => import("./safetensors.js").then((m) => m.command),
  "zoo build": async () => (await import("./zoo.js")).zooBuild,
  "zoo eval": async () => (await import("./zoo.js")).zooEval,
};
