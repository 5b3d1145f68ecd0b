/**
 * Child-process entry of `runEvolver`: runs the seeds given on the command line and appends each finished seed
 * to the part file (JSON lines), so an interrupted run keeps every completed seed. One process per worker gives
 * each its own TensorFlow.js wasm instance. Usage: node seed-worker.js PART_FILE OPTIONS_JSON
 */
import { appendFileSync } from "node:fs";
import { type ExperimentOptions, runSeed } from "./experiment.js";

const [part, json] = process.argv.slice(2);
if (!part || !json) throw new Error("usage: seed-worker.js PART_FILE OPTIONS_JSON");
const options = JSON.parse(json) as ExperimentOptions;
for (const seed of options.seeds) {
  const r = await runSeed(seed, { ...options, log: (m) => console.error(m) });
  appendFileSync(part, `${JSON.stringify(r)}\n`);
}
