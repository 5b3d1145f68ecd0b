// `node packages/experiments/bench/grid-realism.mjs [--quick]`: runs the grid-realism experiment from the built dist
// and writes bench/results/grid-realism.{json,md} at the repo root.
import { fileURLToPath } from "node:url";
import { runGridRealism, writeGridRealism } from "../dist/index.js";

const quick = process.argv.includes("--quick");
const root = fileURLToPath(new URL("../../..", import.meta.url));
const r = runGridRealism({
  ...(quick ? { plan: { ieee13: [1440] }, seeds: [1] } : {}),
  log: (line) => console.log(line),
});
for (const f of writeGridRealism(r, `${root}bench/results${quick ? "/quick" : ""}`))
  console.log(`wrote ${f}`);
