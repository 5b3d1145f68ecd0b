// `node packages/grid-model/bench/grid-speed.bench.mjs [--baseline DIR] [--baseline-label TEXT] [--baseline-highs]
//   [--baseline-counts 2500,5000,10000] [--counts 2500,5000,...] [--seeds 1] [--repeats 3]`
// 69-bus identification time against the number of samples (identifyGrid defaults, 0.1 %-class |V|, 0.5 %-class
// P/Q, every bus metered). With --baseline DIR (a build of the package before the change, e.g. a copy of dist/ at
// the branch point with data/ beside it, placed where it resolves the package's dependencies, such as
// packages/grid-model/node_modules/.base/dist) both builds run side by side on the same data, alternating, each
// `repeats` times; the old one with its own defaults (or LAD on HiGHS with --baseline-highs, for builds from before
// the IRLS engine). Reports the median and every run's wall and CPU seconds (the cores are shared: CPU time is the
// steadier number), the load average, and whether both builds returned the same model; writes
// bench/results/grid-speed.{json,md} at the repo root.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const counts = opt("counts", "2500,5000,10000,20000,40000").split(",").map(Number);
const seeds = opt("seeds", "1").split(",").map(Number);
const baselineDir = opt("baseline", undefined);
const baselineLabel = opt("baseline-label", "the package built before the change");
const baselineHighs = args.includes("--baseline-highs");
const repeats = Number(opt("repeats", "3"));
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// The identified branches, for "same model" (bit-identical impedances and tree).
const modelKey = (m) => JSON.stringify(m.branches.map((b) => [b.from, b.to, b.rPu, b.xPu]));
// The old build takes minutes per run on a loaded machine: measure it up to these counts only.
const baselineCounts = opt("baseline-counts", "2500,5000,10000").split(",").map(Number);
const cur = await import(pathToFileURL(resolve(here, "../dist/index.js")).href);
const base = baselineDir ? await import(pathToFileURL(resolve(baselineDir, "index.js")).href) : undefined;
const f = cur.builtinFeeder("ieee69");
const loadStart = os.loadavg().map((v) => Number(v.toFixed(2)));
const rows = [];
const time = (fn) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  const cpu = process.cpuUsage(c0);
  return { out, wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
};
for (const seed of seeds) {
  const full = cur.simulateSmartMeters(f, {
    samples: Math.max(...counts),
    seed,
    meters: "all",
    junctionLoad: 0.02,
    voltageSigma: cur.accuracyClassSigma(0.1),
    powerSigma: cur.accuracyClassSigma(0.5),
  });
  for (const T of counts) {
    const slice = (a) => a.map((s) => s.subarray(0, T));
    const d = {
      ...full,
      samples: T,
      startMinute: full.startMinute.subarray(0, T),
      vm: slice(full.vm),
      p: slice(full.p),
      q: slice(full.q),
    };
    const load = os.loadavg()[0];
    const runsNew = [];
    const runsBefore = [];
    const withBase = base && baselineCounts.includes(T);
    const solver = withBase && baselineHighs ? await base.createLpSolver("highs") : undefined;
    for (let k = 0; k < repeats; k++) {
      runsNew.push(time(() => cur.identifyGrid(d)));
      if (withBase)
        runsBefore.push(time(() => base.identifyGrid(d, solver ? { method: "lad", solver } : {})));
    }
    const summary = (runs, lib) => {
      const m = lib.evaluateIdentification(f, runs[0].out.branches);
      return {
        wall: median(runs.map((r) => r.wall)),
        cpu: median(runs.map((r) => r.cpu)),
        walls: runs.map((r) => Number(r.wall.toFixed(2))),
        cpus: runs.map((r) => Number(r.cpu.toFixed(2))),
        seconds: runs[0].out.seconds,
        edgeAccuracy: m.edgeAccuracy,
        exactTree: m.exactTree,
        medianApeZ: m.medianApeZ,
      };
    };
    const row = {
      seed,
      samples: T,
      load1: Number(load.toFixed(2)),
      load1End: Number(os.loadavg()[0].toFixed(2)),
      new: summary(runsNew, cur),
    };
    if (withBase) {
      row.before = summary(runsBefore, base);
      row.sameModel = modelKey(runsNew[0].out) === modelKey(runsBefore[0].out);
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const doc = {
  name: "grid-speed",
  feeder: "ieee69",
  machine: {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    node: process.version,
    loadAverageAtStart: loadStart,
    loadAverageAtEnd: os.loadavg().map((v) => Number(v.toFixed(2))),
  },
  baseline: baselineDir ? `${baselineLabel}${baselineHighs ? " (LAD on HiGHS)" : ""}` : null,
  repeats,
  rows,
};
const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const md = [
  "# 69-bus identification time against samples (grid-speed)",
  "",
  `Shared ${doc.machine.cores}-core machine (${doc.machine.cpu}, Node ${doc.machine.node}); load average ${loadStart.join(" / ")} at the start, ${doc.machine.loadAverageAtEnd.join(" / ")} at the end (other jobs on the machine), so wall times are pessimistic: CPU seconds are the steadier measure. identifyGrid with its defaults (bad-data screens on) on the IEEE 69-bus feeder, 0.1 %-class |V| and 0.5 %-class P/Q meters, every bus metered; ${base ? `the same simulated data for both builds, side by side in one run, alternating; before = ${doc.baseline}; ` : ""}medians of ${repeats} runs (every run in the JSON).`,
  "",
  `| samples | load (1 min, start–end) | new wall s | new CPU s | ${base ? "before wall s | before CPU s | CPU ratio | same model | " : ""}new edges (exact) | ${base ? "before edges (exact) |" : ""}`,
  `|---|---|---|---|${base ? "---|---|---|---|" : ""}---|${base ? "---|" : ""}`,
  ...rows.map(
    (r) =>
      `| ${r.samples} | ${r.load1}–${r.load1End} | ${fmt(r.new.wall)} | ${fmt(r.new.cpu)} | ${base ? (r.before ? `${fmt(r.before.wall)} | ${fmt(r.before.cpu)} | ${fmt(r.before.cpu / r.new.cpu, 2)}× | ${r.sameModel ? "yes" : "no"} | ` : "– | – | – | – | ") : ""}${fmt(r.new.edgeAccuracy, 3)} (${r.new.exactTree ? "yes" : "no"}) | ${base ? (r.before ? `${fmt(r.before.edgeAccuracy, 3)} (${r.before.exactTree ? "yes" : "no"}) |` : "– |") : ""}`,
  ),
  "",
].join("\n");
const out = join(root, "bench/results");
mkdirSync(out, { recursive: true });
for (const [suffix, text] of [
  [".json", `${JSON.stringify(doc, null, 2)}\n`],
  [".md", md],
]) {
  const file = join(out, `grid-speed${suffix}`);
  writeFileSync(`${file}.tmp-${process.pid}`, text);
  renameSync(`${file}.tmp-${process.pid}`, file);
  console.log(`wrote ${file}`);
}
