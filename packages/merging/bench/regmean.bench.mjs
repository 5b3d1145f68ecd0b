// RegMean on the zoo's problem size (run with `pnpm bench regmean` after a build): 8 models, the MLP
// backbone's linear layers 784 → 256 and 256 → 128, Gram matrices of 1 000 random inputs each.
// Times `regmeanMerge` (Gram products, the solve, the transpose) per layer; X_MERGE_REGMEAN_LABEL
// names the run in bench/results/merging-regmean.json (the file keeps every label's last result,
// so runs of two code versions sit side by side).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";

// X_MERGE_DIST: another build of the package to time (e.g. a copy of an older dist/), for side-by-side runs.
const { regmeanMerge } = await import(process.env.X_MERGE_DIST ?? "../dist/index.js");

const root = new URL("../../..", import.meta.url).pathname;
const label = process.env.X_MERGE_REGMEAN_LABEL ?? "current";
const REPS = Number(process.env.X_BENCH_REPS ?? 5);
const N = 8;
const SAMPLES = 1000;
const LAYERS = [
  { name: "layer0 784→256", inDim: 784, outDim: 256 },
  { name: "layer1 256→128", inDim: 256, outDim: 128 },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Gram matrix XᵀX of `samples` sparse-ish ReLU-like inputs (non-negative, many zeros). */
function gram(rng, inDim) {
  const g = new Float64Array(inDim * inDim);
  const x = new Float64Array(inDim);
  for (let s = 0; s < SAMPLES; s++) {
    for (let c = 0; c < inDim; c++) x[c] = Math.max(0, rng.normal());
    for (let r = 0; r < inDim; r++) {
      const xr = x[r];
      if (xr === 0) continue;
      for (let c = 0; c < inDim; c++) g[r * inDim + c] += xr * x[c];
    }
  }
  return Float32Array.from(g, (v) => v / SAMPLES);
}

const load0 = loadavg();
const results = [];
for (const layer of LAYERS) {
  const rng = new Rng(`regmean-${layer.inDim}`);
  const weights = Array.from({ length: N }, () => {
    const w = new Float32Array(layer.outDim * layer.inDim);
    for (let k = 0; k < w.length; k++) w[k] = 0.05 * rng.normal();
    return w;
  });
  const grams = Array.from({ length: N }, () => gram(rng, layer.inDim));
  const times = [];
  let out;
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    out = regmeanMerge(weights, grams, layer.outDim, layer.inDim, 0.1);
    times.push(performance.now() - t);
  }
  let sum = 0;
  for (const v of out) sum += v;
  results.push({ layer: layer.name, medianMs: median(times), timesMs: times, checksum: sum });
  console.log(
    `${label} ${layer.name}: median ${median(times).toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(", ")})`,
  );
}
const load1 = loadavg();

const dir = join(root, "bench/results");
mkdirSync(dir, { recursive: true });
const jsonPath = join(dir, "merging-regmean.json");
const all = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, "utf8")) : { runs: {} };
all.runs[label] = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, Node ${process.version}`,
  loadavg: { start: load0, end: load1 },
  models: N,
  samples: SAMPLES,
  reps: REPS,
  results,
};
writeFileSync(jsonPath, `${JSON.stringify(all, null, 2)}\n`);
const labels = Object.keys(all.runs);
const lines = [
  "# RegMean solve on the zoo's problem size",
  "",
  `8 models, α = 0.1 (off-diagonal scaling), Gram matrices of ${SAMPLES} ReLU-like inputs; \`regmeanMerge\` per layer (Gram products, solve, transpose), median of ${REPS} runs. Each run is labelled with the code version it timed.`,
  "",
  `| layer | ${labels.join(" | ")} |`,
  `|---|${labels.map(() => "---").join("|")}|`,
  ...LAYERS.map(
    (l) =>
      `| ${l.name} | ${labels.map((k) => `${all.runs[k].results.find((r) => r.layer === l.name)?.medianMs.toFixed(1) ?? "–"} ms`).join(" | ")} |`,
  ),
  "",
  ...labels.map(
    (k) =>
      `- \`${k}\`: ${all.runs[k].date}, ${all.runs[k].machine}, load average ${all.runs[k].loadavg.start.map((v) => v.toFixed(2)).join(" / ")} at start, ${all.runs[k].loadavg.end.map((v) => v.toFixed(2)).join(" / ")} at end; checksums ${all.runs[k].results.map((r) => r.checksum.toPrecision(8)).join(", ")}.`,
  ),
  "",
];
writeFileSync(join(dir, "merging-regmean.md"), lines.join("\n"));
