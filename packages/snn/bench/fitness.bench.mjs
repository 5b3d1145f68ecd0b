// Fitness forward throughput (pnpm bench snn): the typed-array inference path (WebAssembly SIMD and float64
// engines) vs the TensorFlow.js forward (wasm backend, eval mode, batch 250), side by side in one process on
// the same 2,000 Fashion-MNIST images, for the SEW-MLP (H = 128, K = 2, T = 4; weights after one training epoch
// on 3,000 images, so spike rates are those of a trained net) and the conv SEW ResNet (at initialisation).
// Single-threaded throughout. Results: bench/results/snn-fitness.{json,md}.
import { loadFashion, subset } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { initTf } from "@x/tensor-core/tfjs";
import { dist, machine, median, writeResults } from "./common.mjs";

const snn = await import(dist);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const all = loadFashion(500);
const perm = new Rng(1).permutation(all.count);
const data = subset(all, Array.from(perm.subarray(0, 2000)));
const train = subset(all, Array.from(perm.subarray(2000, 5000)));
const { tf } = await initTf({ backend: "wasm" });

async function model(kind) {
  if (kind === "sew-resnet") return snn.initModel(snn.sewResNet(), new Rng(2));
  const r = await snn.trainModel({
    model: snn.initModel(snn.sewMlp(), new Rng(2)),
    train,
    epochs: 1,
    seed: 1,
    backend: "wasm",
  });
  return r.model;
}

function timeIt(fn, n) {
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return { samplesPerSecond: (1000 * n) / median(times), medianMs: median(times), times };
}

const rows = [];
for (const kind of ["sew-mlp", "sew-resnet"]) {
  const m = await model(kind);
  const n = kind === "sew-mlp" ? 2000 : 500;
  const images = data.images.subarray(0, n * 784);
  const out = { model: kind, spec: m.spec, images: n };
  const engines = kind === "sew-mlp" ? ["simd", "float64"] : ["float64"];
  for (const e of engines) {
    const fast = new snn.FastSnn(m, e);
    fast.predict(images, Math.min(n, 200)); // warm-up
    out[e] = timeIt(() => fast.predict(images, n), n);
  }
  const net = new snn.TfSnn(tf, m);
  const tfForward = () => {
    for (let b = 0; b < n; b += 250) {
      tf.tidy(() =>
        net.forward(tf.tensor2d(images.subarray(b * 784, (b + 250) * 784), [250, 784]), false).dataSync(),
      );
    }
  };
  tfForward();
  out.tfjsWasm = timeIt(tfForward, n);
  net.dispose();
  out.ratio = Object.fromEntries(
    engines.map((e) => [e, out[e].samplesPerSecond / out.tfjsWasm.samplesPerSecond]),
  );
  rows.push(out);
  console.log(
    kind,
    engines.map((e) => `${e} ${out[e].samplesPerSecond.toFixed(0)}/s`).join(", "),
    `tfjs-wasm ${out.tfjsWasm.samplesPerSecond.toFixed(0)}/s`,
  );
}
const mach = machine();
const md = [
  "# @x/snn fitness forward throughput",
  "",
  `Median of ${RUNS} runs, one thread, same images for every path. Machine: ${mach.cpus} × ${mach.model}, Node ${mach.node}, load average at the end ${mach.loadavg.map((x) => x.toFixed(2)).join(" / ")} (a shared machine: absolute numbers move with the load; the ratios are measured side by side).`,
  "",
  "| model | images | typed path, WebAssembly SIMD | typed path, float64 | tfjs forward (wasm backend) | SIMD / tfjs | float64 / tfjs |",
  "|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.model === "sew-mlp" ? "SEW-MLP H = 128, K = 2, T = 4 (trained 1 epoch)" : "conv SEW ResNet 8-8-16, T = 4 (init)"} | ${r.images} | ${r.simd ? `${r.simd.samplesPerSecond.toFixed(0)} /s` : "—"} | ${r.float64.samplesPerSecond.toFixed(0)} /s | ${r.tfjsWasm.samplesPerSecond.toFixed(0)} /s | ${r.ratio.simd ? `${r.ratio.simd.toFixed(1)}×` : "—"} | ${r.ratio.float64.toFixed(1)}× |`,
  ),
  "",
  "Goals: ≥ 20,000 samples/s on one core for the SEW-MLP and ≥ 10× the tfjs-wasm forward.",
  "",
].join("\n");
writeResults("snn-fitness", { machine: mach, runs: RUNS, rows }, md);
