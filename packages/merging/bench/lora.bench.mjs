// LoRA extraction benchmarks (run with `pnpm bench lora` from the repo root, after a build).
// 1. The randomized truncated SVD against ml-matrix's full SVD, side by side on a 500×500 matrix with a
//    slowly decaying spectrum (σᵢ ∝ i^-0.5, like full fine-tunes' task vectors): time, and the error
//    ‖A − UₖSₖVₖᵀ‖_F against the Eckart–Young optimum, for 0–3 power iterations.
// 2. Time of the default setting (rank 128, 2 power iterations) on layer-sized matrices.
// 3. extractLora end to end on a synthetic BF16 Llama-layout checkpoint in a child process: time and
//    peak RSS against the per-layer memory bound and the model size.
// Writes bench/results/merging-lora.{json,md} at the repo root.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Rng, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { truncatedSvd } from "../dist/index.js";

const root = new URL("../../..", import.meta.url).pathname;
const quick = process.env.BENCH_QUICK === "1";
const load0 = loadavg();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A [m, n] = U·diag(σ)·Vᵀ with random orthonormal U, V (float32), so the optimum is known exactly. */
function withSpectrum(m, n, sigma, seed) {
  const rng = new Rng(seed);
  const orth = (rows) => {
    const g = new Matrix(rows, sigma.length);
    for (let i = 0; i < rows; i++) for (let j = 0; j < sigma.length; j++) g.set(i, j, rng.normal());
    return new SingularValueDecomposition(g, { autoTranspose: true }).leftSingularVectors.to1DArray();
  };
  const t = sigma.length;
  const u = orth(m);
  const v = orth(n);
  const a = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < t; c++) s += u[i * t + c] * sigma[c] * v[j * t + c];
      a[i * n + j] = s;
    }
  return a;
}

function reconstructionError(a, m, n, u, s, v, k) {
  let e = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let c = 0; c < k; c++) x += u[i * k + c] * s[c] * v[j * k + c];
      e += (a[i * n + j] - x) ** 2;
    }
  return Math.sqrt(e);
}

// 1. Accuracy and time against the full SVD.
const N = 500;
const RANK = 64;
const sigma = Array.from({ length: N }, (_, i) => 1e-3 * (i + 1) ** -0.5);
const a = withSpectrum(N, N, sigma, 1);
const optimal = Math.sqrt(sigma.slice(RANK).reduce((s, x) => s + x * x, 0));
const accuracy = [];
{
  const mat = new Matrix(N, N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) mat.set(i, j, a[i * N + j]);
  const t0 = performance.now();
  const full = new SingularValueDecomposition(mat);
  const ms = performance.now() - t0;
  const k = RANK;
  const u = new Float64Array(N * k);
  const v = new Float64Array(N * k);
  for (let i = 0; i < N; i++)
    for (let c = 0; c < k; c++) {
      u[i * k + c] = full.leftSingularVectors.get(i, c);
      v[i * k + c] = full.rightSingularVectors.get(i, c);
    }
  const err = reconstructionError(a, N, N, u, full.diagonal, v, k);
  accuracy.push({
    method: "ml-matrix full SVD",
    ms: Math.round(ms),
    errorOverOptimal: +(err / optimal).toFixed(5),
    maxSigmaError: 0,
  });
}
for (const q of [0, 1, 2, 3]) {
  const times = [];
  let r;
  for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
    const t0 = performance.now();
    r = truncatedSvd(a, N, N, RANK, { powerIterations: q });
    times.push(performance.now() - t0);
  }
  const err = reconstructionError(a, N, N, r.u, r.s, r.v, r.k);
  const maxSigmaError = Math.max(...Array.from(r.s, (s, i) => Math.abs(s - sigma[i]) / sigma[i]));
  accuracy.push({
    method: `randomized, ${q} power iteration${q === 1 ? "" : "s"}`,
    ms: Math.round(median(times)),
    errorOverOptimal: +(err / optimal).toFixed(5),
    maxSigmaError: +maxSigmaError.toExponential(2),
  });
}

// 2. Default setting on layer-sized matrices (time only; random Gaussian entries).
const sizes = quick
  ? [[1024, 1024]]
  : [
      [1024, 1024],
      [2048, 2048],
      [4096, 1024],
      [4096, 4096],
    ];
const layerTimes = [];
for (const [m, n] of sizes) {
  const rng = new Rng(m * n);
  const x = new Float32Array(m * n);
  rng.fillNormal(x);
  const t0 = performance.now();
  truncatedSvd(x, m, n, 128);
  layerTimes.push({ shape: `${m}×${n}`, rank: 128, seconds: +((performance.now() - t0) / 1000).toFixed(2) });
}

// 3. End to end, in a child process so its peak RSS is the extraction's own.
const HIDDEN = quick ? 512 : 1024;
const INTER = quick ? 1408 : 2816;
const LAYERS = quick ? 1 : 4;
const VOCAB = 8192;
const E2E_RANK = quick ? 32 : 128;
const dir = mkdtempSync(join(tmpdir(), "lora-bench-"));
const shapes = new Map([["model.embed_tokens.weight", [VOCAB, HIDDEN]]]);
for (let l = 0; l < LAYERS; l++) {
  const p = `model.layers.${l}`;
  for (const n of ["q_proj", "k_proj", "v_proj", "o_proj"])
    shapes.set(`${p}.self_attn.${n}.weight`, [HIDDEN, HIDDEN]);
  shapes.set(`${p}.mlp.gate_proj.weight`, [INTER, HIDDEN]);
  shapes.set(`${p}.mlp.up_proj.weight`, [INTER, HIDDEN]);
  shapes.set(`${p}.mlp.down_proj.weight`, [HIDDEN, INTER]);
  shapes.set(`${p}.input_layernorm.weight`, [HIDDEN]);
  shapes.set(`${p}.post_attention_layernorm.weight`, [HIDDEN]);
}
shapes.set("model.norm.weight", [HIDDEN]);
shapes.set("lm_head.weight", [VOCAB, HIDDEN]);
let params = 0;
for (const s of shapes.values()) params += s.reduce((x, y) => x * y, 1);
const rng = new Rng(5);
for (const [which, scale] of [
  ["base", 0],
  ["tuned", 5e-4],
]) {
  const r2 = new Rng(7);
  await writeShardedSafetensors(
    join(dir, which),
    [...shapes].map(([name, shape]) => ({ name, dtype: "BF16", shape })),
    (spec) => {
      const n = spec.shape.reduce((x, y) => x * y, 1);
      const v = new Float32Array(n);
      r2.fillNormal(v, spec.name.includes("norm") ? 1 : 0, 0.02);
      if (scale > 0) for (let k = 0; k < n; k++) v[k] += scale * rng.normal();
      return Tensor.fromFloat32("BF16", spec.shape, v);
    },
  );
}
const script = `
import { extractLora } from ${JSON.stringify(join(root, "packages/merging/dist/index.js"))};
const t0 = performance.now();
const r = await extractLora({ model: ${JSON.stringify(join(dir, "tuned"))}, base: ${JSON.stringify(join(dir, "base"))}, out: ${JSON.stringify(join(dir, "adapter"))}, rank: ${E2E_RANK} });
const errs = r.modules.filter((m) => m.kind !== "full").map((m) => m.relativeError);
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024, modules: r.modules.length, meanRelativeError: errs.reduce((a, b) => a + b, 0) / errs.length }));
`;
const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
if (child.status !== 0) throw new Error(child.stderr);
const e2e = JSON.parse(child.stdout.trim().split("\n").at(-1));
rmSync(dir, { recursive: true, force: true });
const largest = Math.max(
  ...[...shapes]
    .filter(([n, s]) => s.length === 2 && !n.includes("embed") && !n.includes("lm_head"))
    .map(([, s]) => s[0] * s[1]),
);
const l = Math.min(E2E_RANK + 16, HIDDEN);
const boundMiB = (2 * largest * 4 + 4 * (HIDDEN + INTER) * l * 8 + 16 * 2 ** 20) / 2 ** 20;

const results = {
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
  },
  loadavg: { before: load0.map((x) => +x.toFixed(2)), after: loadavg().map((x) => +x.toFixed(2)) },
  quick,
  accuracy: { shape: `${N}×${N}`, rank: RANK, spectrum: "σᵢ = 1e-3·i^-0.5", rows: accuracy },
  layerTimes,
  endToEnd: {
    model: `${LAYERS} layers, hidden ${HIDDEN}, intermediate ${INTER}, vocab ${VOCAB}, BF16: ${(params / 1e6).toFixed(1)} M parameters (${((params * 2) / 2 ** 20).toFixed(0)} MiB per checkpoint)`,
    rank: E2E_RANK,
    ...e2e,
    perLayerBoundMiB: +boundMiB.toFixed(1),
  },
};
const outDir = join(root, "bench/results");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "merging-lora.json"), `${JSON.stringify(results, null, 2)}\n`);
const md = [
  "# LoRA extraction: truncated SVD accuracy, speed and memory",
  "",
  `Machine: ${results.machine.cpus} × ${results.machine.cpu}, ${results.machine.memGiB} GiB, Node ${results.machine.node}. Load average before ${results.loadavg.before.join(", ")}, after ${results.loadavg.after.join(", ")} (a shared 2-core VM: times are indicative, ratios within one run are what to compare).`,
  "",
  `## Randomized SVD vs full SVD (${results.accuracy.shape}, rank ${RANK}, ${results.accuracy.spectrum})`,
  "",
  "| method | time (ms, median) | ‖A − Aₖ‖_F / Eckart–Young optimum | max relative error of σ₁…σₖ |",
  "|---|---|---|---|",
  ...accuracy.map((r) => `| ${r.method} | ${r.ms} | ${r.errorOverOptimal} | ${r.maxSigmaError} |`),
  "",
  "## Default setting (rank 128, oversampling 16, 2 power iterations) on layer-sized matrices",
  "",
  "| shape | seconds |",
  "|---|---|",
  ...layerTimes.map((r) => `| ${r.shape} | ${r.seconds} |`),
  "",
  "## extractLora end to end",
  "",
  `${results.endToEnd.model}, rank ${E2E_RANK}: ${results.endToEnd.seconds.toFixed(1)} s, ${results.endToEnd.modules} modules, mean relative truncation error ${results.endToEnd.meanRelativeError.toFixed(3)} (random task vectors have a flat spectrum: the worst case for truncation). Peak RSS of the extracting process **${results.endToEnd.maxRssMiB.toFixed(0)} MiB**; the per-layer working set (two float32 copies of the largest linear weight, the sketch matrices and one 16 MiB write chunk) is ${results.endToEnd.perLayerBoundMiB} MiB on top of Node's own baseline.`,
  "",
];
writeFileSync(join(outDir, "merging-lora.md"), md.join("\n"));
console.log(md.join("\n"));
