// `node packages/grid-model/bench/grid-speed.bench.mjs [--baseline DIR] [--baseline-counts 2500,5000,10000]
//   [--counts 2500,5000,...] [--seeds 1]`
// 69-bus identification time against the number of samples (identifyGrid defaults, 0.1 %-class |V|, 0.5 %-class
// P/Q, every bus metered). With --baseline DIR (a build of the package before the change, e.g. a copy of dist/ at
// the branch point with data/ beside it) both builds run side by side on the same data, the old one with its own
// defaults (LAD on HiGHS). Reports wall and CPU seconds (the cores are shared: CPU time is the steadier number)
// and the load average; writes bench/results/grid-speed.{json,md} at the repo root.
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
    const n = time(() => cur.identifyGrid(d));
    const mn = cur.evaluateIdentification(f, n.out.branches);
    const row = {
      seed,
      samples: T,
      load1: Number(load.toFixed(2)),
      new: {
        wall: n.wall,
        cpu: n.cpu,
        seconds: n.out.seconds,
        edgeAccuracy: mn.edgeAccuracy,
        exactTree: mn.exactTree,
        medianApeZ: mn.medianApeZ,
      },
    };
    if (base && baselineCounts.includes(T)) {
      const solver = await base.createLpSolver("highs");
      const b = time(() => base.identifyGrid(d, { method: "lad", solver }));
      const mb = base.evaluateIdentification(f, b.out.branches);
      row.before = {
        wall: b.wall,
        cpu: b.cpu,
        seconds: b.out.seconds,
        edgeAccuracy: mb.edgeAccuracy,
        exactTree: mb.exactTree,
        medianApeZ: mb.medianApeZ,
      };
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
  baseline: baselineDir
    ? "the package built at the branch point (d762e04): LAD on HiGHS, QR stage 1, full tree rescoring"
    : null,
  rows,
};
const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const md = [
  "# 69-bus identification time against samples (grid-speed)",
  "",
  `Shared ${doc.machine.cores}-core machine (${doc.machine.cpu}, Node ${doc.machine.node}); load average ${loadStart.join(" / ")} at the start, ${doc.machine.loadAverageAtEnd.join(" / ")} at the end (other engineers' jobs), so wall times are pessimistic: CPU seconds are the steadier measure. identifyGrid with its defaults (bad-data screens on) on the IEEE 69-bus feeder, 0.1 %-class |V| and 0.5 %-class P/Q meters, every bus metered; the same simulated data for both builds, side by side in one run.`,
  "",
  `| samples | load (1 min) | new wall s | new CPU s | ${base ? "before wall s | before CPU s | CPU ratio | " : ""}new edges (exact) | ${base ? "before edges (exact) |" : ""}`,
  `|---|---|---|---|${base ? "---|---|---|" : ""}---|${base ? "---|" : ""}`,
  ...rows.map(
    (r) =>
      `| ${r.samples} | ${r.load1} | ${fmt(r.new.wall)} | ${fmt(r.new.cpu)} | ${base ? (r.before ? `${fmt(r.before.wall)} | ${fmt(r.before.cpu)} | ${fmt(r.before.cpu / r.new.cpu)}× | ` : "– | – | – | ") : ""}${fmt(r.new.edgeAccuracy, 3)} (${r.new.exactTree ? "yes" : "no"}) | ${base ? (r.before ? `${fmt(r.before.edgeAccuracy, 3)} (${r.before.exactTree ? "yes" : "no"}) |` : "– |") : ""}`,
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
