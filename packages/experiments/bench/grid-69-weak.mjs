// `node packages/experiments/bench/grid-69-weak.mjs`: the 69-bus identifiability study → bench/results/grid-69-weak.{json,md,svg}.
import { fileURLToPath } from "node:url";
import { runWeakBranches, writeWeakBranches } from "../dist/index.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const r = runWeakBranches({ log: (line) => console.log(line) });
for (const f of writeWeakBranches(r, `${root}bench/results`)) console.log(`wrote ${f}`);
