// `node packages/experiments/bench/grid-realism.mjs [--quick] [--plan ieee13:1440,2880;ieee37:10000@1,2] [--seeds 1,2]`:
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
// A plan part may name its own seeds: "ieee37:5000,10000@1,2".
const parts = planArg?.split(";").map((p) => {
  const [fid, rest] = p.split(":");
  const [counts, seedList] = rest.split("@");
  return { fid, counts: counts.split(",").map(Number), seeds: seedList?.split(",").map(Number) };
});
const seedsFor = parts?.some((p) => p.seeds)
  ? Object.fromEntries(parts.filter((p) => p.seeds).map((p) => [p.fid, p.seeds]))
  : undefined;
const plan = parts
  ? Object.fromEntries(parts.map((p) => [p.fid, p.counts]))
  : quick
    ? { ieee13: [1440] }
    : undefined;
const seeds = opt("seeds")?.split(",").map(Number) ?? (quick ? [1] : undefined);
const root = fileURLToPath(new URL("../../..", import.meta.url));
const r = runGridRealism({
  ...(plan ? { plan } : {}),
  ...(seeds ? { seeds } : {}),
  ...(seedsFor ? { seedsFor } : {}),
  log: (line) => console.log(line),
});
for (const f of writeGridRealism(r, `${root}bench/results${quick ? "/quick" : ""}`))
  console.log(`wrote ${f}`);
