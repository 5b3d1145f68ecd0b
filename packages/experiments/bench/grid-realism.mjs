// `node packages/experiments/bench/grid-realism.mjs [--quick] [--plan ieee13:1440,2880;ieee37:10000] [--seeds 1,2]`:
// runs the grid-realism experiment from the built dist and writes bench/results/grid-realism.{json,md}.
import { fileURLToPath } from "node:url";
import { runGridRealism, writeGridRealism } from "../dist/index.js";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes("--quick");
const planArg = opt("plan");
const plan = planArg
  ? Object.fromEntries(
      planArg.split(";").map((p) => [p.split(":")[0], p.split(":")[1].split(",").map(Number)]),
    )
  : quick
    ? { ieee13: [1440] }
    : undefined;
const seeds = opt("seeds")?.split(",").map(Number) ?? (quick ? [1] : undefined);
const root = fileURLToPath(new URL("../../..", import.meta.url));
const r = runGridRealism({
  ...(plan ? { plan } : {}),
  ...(seeds ? { seeds } : {}),
  log: (line) => console.log(line),
});
for (const f of writeGridRealism(r, `${root}bench/results${quick ? "/quick" : ""}`))
  console.log(`wrote ${f}`);
