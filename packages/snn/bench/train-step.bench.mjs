// Training step time (pnpm bench snn): one BPTT step (forward, surrogate backward, SGD update, BN running
// statistics) of the SEW-MLP (H = 128, K = 2, T = 4, batch 64) and the conv SEW ResNet (batch 32) on the
// TensorFlow.js wasm and cpu backends, side by side in one process. Results: bench/results/snn-train.{json,md}.
import { loadFashion, subset } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { dist, machine, median, writeResults } from "./common.mjs";

const snn = await import(dist);
const data = loadFashion(100);
const rows = [];
for (const [kind, batch, steps] of [
  ["sew-mlp", 64, 12],
  ["sew-resnet", 32, 6],
]) {
  const train = subset(
    data,
    Array.from({ length: batch * steps }, (_, i) => i),
  );
  for (const backend of ["wasm", "cpu"]) {
    const spec = kind === "sew-mlp" ? snn.sewMlp() : snn.sewResNet();
    const stamps = [];
    await snn.trainModel({
      model: snn.initModel(spec, new Rng(1)),
      train,
      epochs: 1,
      batchSize: batch,
      seed: 1,
      backend,
      onProgress: (e) => stamps.push(e.elapsedMs),
    });
    const per = stamps.slice(2).map((t, i) => t - stamps[i + 1]); // skip the first steps (kernel warm-up)
    rows.push({ model: kind, backend, batch, stepMs: median(per), steps: per });
    console.log(kind, backend, `${median(per).toFixed(1)} ms/step`);
  }
}
const mach = machine();
const get = (m, b) => rows.find((r) => r.model === m && r.backend === b);
const md = [
  "# @x/snn training step time",
  "",
  `Median step time after two warm-up steps. Machine: ${mach.cpus} × ${mach.model}, Node ${mach.node}, load average at the end ${mach.loadavg.map((x) => x.toFixed(2)).join(" / ")}.`,
  "",
  "| model | batch | wasm ms/step | cpu ms/step | cpu / wasm |",
  "|---|---|---|---|---|",
  ...["sew-mlp", "sew-resnet"].map((m) => {
    const w = get(m, "wasm");
    const c = get(m, "cpu");
    return `| ${m === "sew-mlp" ? "SEW-MLP H = 128, K = 2, T = 4" : "conv SEW ResNet 8-8-16, T = 4"} | ${w.batch} | ${w.stepMs.toFixed(1)} | ${c.stepMs.toFixed(1)} | ${(c.stepMs / w.stepMs).toFixed(2)}× |`;
  }),
  "",
  "The wasm backend runs one thread in Node; the conv filter gradient is @x/tensor-core's own Conv2DBackpropFilter kernel on both backends.",
  "",
].join("\n");
writeResults("snn-train", { machine: mach, rows }, md);
