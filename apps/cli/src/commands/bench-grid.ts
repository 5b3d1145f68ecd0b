/**
 * `x bench grid`: the identification experiment (issue 6). Sweeps meter noise, sample count and
 * resolution on the IEEE 13 / 37 / 69-bus feeders with several seeds, compares the topology
 * read-outs, LAD vs LS impedances, the conductor library, and glpk.js vs HiGHS on the LAD LPs.
 * Writes <out>/grid.json and <out>/grid.md.
 */

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BranchSamples, Feeder, LpSolver, SmartMeterData } from "@x/grid-model";
import { type Command, UsageError } from "../command.js";

export interface Cell {
  group: "noise" | "samples" | "resolution" | "library" | "exact" | "topology";
  feeder: string;
  vClass: number;
  pqClass: number;
  samples: number;
  resolutionMin: number;
  seed: number;
  topology: Record<string, number>;
  exactTree: boolean;
  lad?: Record<string, number>;
  ls?: Record<string, number>;
  /** Stage 2 on the true tree (separates stage-2 quality from topology errors). */
  ladTrueTree?: Record<string, number>;
  lsTrueTree?: Record<string, number>;
  library?: Record<string, number | null>;
  /** "exact" group: buses whose parent is wrong. */
  wrongBuses?: string[];
  /** "exact" group, 69-bus: topology after contracting the true feeder's sub-noise branches in both trees. */
  contracted?: { edgeAccuracy: number; exactTree: boolean; contractedBranches: number; criterion: string };
  seconds: Record<string, number>;
}

export interface LpCell {
  samples: number;
  solver: string;
  form: string;
  branches: number;
  /** Fits with an LP over the time limit. */
  failed: number;
  timeLimitS: number;
  medianMs: number;
  meanLpPerFit: number;
  maxRelLossDiff: number;
}

const median = (a: number[]) => {
  const s = [...a].filter(Number.isFinite).sort((x, y) => x - y);
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const USAGE =
  "x bench grid [--quick] [--seeds 1,2] [--lp-only | --exact-only [--skip-topology] | --topology-only] [--exact-seeds 1,2,3] [--feeders ieee37,ieee69,ieee69-merged] [--out bench/results] [--name grid]";

export const benchGrid: Command = {
  name: "bench grid",
  summary:
    "Runs the grid identification experiment: noise (voltage class 0–0.2 %, P/Q 0.2–1 %), samples (672–10000) and " +
    "resolution (1/15/60 min) on IEEE 13/37/69 with several seeds; topology read-outs (tree-metric, Laplacian, " +
    "Var-MinST), LAD vs LS, conductor library, time to identify the 69-bus feeder, and glpk.js vs HiGHS on the LAD " +
    "LPs, and the samples-to-exact-topology table (37/69-bus, 3 seeds). --quick is a seconds-long smoke configuration; " +
    "--lp-only / --exact-only (samples to exact + topology noise sweep) / --topology-only keep the other cells of an " +
    "earlier run and rerun only that part.",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        quick: { type: "boolean" },
        seeds: { type: "string" },
        out: { type: "string" },
        name: { type: "string" },
        "lp-only": { type: "boolean" },
        "exact-only": { type: "boolean" },
        "skip-topology": { type: "boolean" },
        "topology-only": { type: "boolean" },
        feeders: { type: "string" },
        "exact-seeds": { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const quick = values.quick === true;
    const seeds = (values.seeds ?? (quick ? "1" : "1,2")).split(",").map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--seeds must be integers, got '${s}'`);
      return n;
    });
    const outDir = resolve(values.out ?? "bench/results");
    const name = values.name ?? (quick ? "grid-quick" : "grid");
    const grid = await import("@x/grid-model");
    const highs = await grid.createLpSolver("highs");
    let glpk: LpSolver | undefined;
    try {
      glpk = await grid.createLpSolver("glpk");
    } catch {
      glpk = undefined;
    }
    const started = new Date();
    const machine = {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      node: process.version,
      loadAverageAtStart: loadavg().map((v) => Number(v.toFixed(2))),
      note: "2 cores shared with other engineers' jobs; timings are indicative",
    };
    const feeders: Record<string, Feeder> = {
      ieee13: grid.ieee13(),
      ieee37: grid.ieee37(),
      ieee69: grid.case69(),
      // Sub-noise branches contracted (grid.IEEE69_MERGE_DROP_PU): identification up to indistinguishable branches.
      "ieee69-merged": grid.builtinFeeder("ieee69-merged"),
    };
    const lpOnly = values["lp-only"] === true;
    const exactOnly = values["exact-only"] === true;
    const topologyOnly = values["topology-only"] === true;
    if ([lpOnly, exactOnly, topologyOnly].filter(Boolean).length > 1)
      throw new UsageError("--lp-only, --exact-only and --topology-only exclude each other");
    const exactSeeds = (values["exact-seeds"] ?? (quick ? "1,2" : "1,2,3")).split(",").map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--exact-seeds must be integers, got '${s}'`);
      return n;
    });
    // --lp-only / --exact-only keep the cells of an earlier run and (re)run only that part.
    const partial = lpOnly || exactOnly || topologyOnly;
    // --feeders restricts the samples-to-exact plan and the topology sweep (earlier cells of other feeders stay).
    const only = values.feeders ? new Set(values.feeders.split(",")) : undefined;
    for (const fid of only ?? [])
      if (!["ieee13", "ieee37", "ieee69", "ieee69-merged"].includes(fid))
        throw new UsageError(`unknown feeder '${fid}' in --feeders`);
    const selected = (fid: string) => !only || only.has(fid);
    // --skip-topology (with --exact-only): rerun only the samples-to-exact plan, keep the topology sweep cells.
    const skipTopology = values["skip-topology"] === true;
    const previous = partial ? readPrevious(join(outDir, `${name}.json`)) : undefined;
    const cells: Cell[] = (previous?.cells ?? []).filter(
      (c) =>
        !(exactOnly && c.group === "exact" && selected(c.feeder)) &&
        !(exactOnly && !skipTopology && c.group === "topology" && selected(c.feeder)) &&
        !(topologyOnly && c.group === "topology" && selected(c.feeder)),
    );
    const lp: LpCell[] = exactOnly || topologyOnly ? (previous?.lp ?? []) : [];
    const sweepRuns = !partial;

    const simulate = (
      f: Feeder,
      vClass: number,
      pqClass: number,
      samples: number,
      res: number,
      seed: number,
    ) =>
      grid.simulateSmartMeters(f, {
        samples,
        seed,
        intervalMinutes: res,
        // The "modified" feeders (spec §3.4): every bus metered, junctions with 2 % of the largest load.
        meters: "all",
        junctionLoad: 0.02,
        voltageSigma: grid.accuracyClassSigma(vClass),
        powerSigma: grid.accuracyClassSigma(pqClass),
      });

    const edgesOf = (d: SmartMeterData, parent: Int32Array, r?: Float64Array, x?: Float64Array) => {
      const out = [];
      for (let j = 0; j < parent.length; j++) {
        if (j === d.root) continue;
        out.push({ from: d.busNames[parent[j]!]!, to: d.busNames[j]!, rPu: r?.[j] ?? 1, xPu: x?.[j] ?? 1 });
      }
      return out;
    };
    const impedanceMetrics = (m: ReturnType<typeof grid.evaluateIdentification>) => ({
      edgeAccuracy: m.edgeAccuracy,
      mapeR: m.mapeR,
      mapeX: m.mapeX,
      medianApeR: m.medianApeR,
      medianApeX: m.medianApeX,
      medianApeZ: m.medianApeZ,
      within5: m.within5,
    });

    const runCell = (
      group: Cell["group"],
      fid: string,
      vClass: number,
      pqClass: number,
      samples: number,
      res: number,
      seed: number,
      opts: { baselines?: boolean; library?: boolean; trueTree?: boolean } = {},
    ) => {
      const f = feeders[fid]!;
      const t0 = performance.now();
      const d = simulate(f, vClass, pqClass, samples, res, seed);
      const t1 = performance.now();
      const topo = grid.identifyTopology(d);
      const t2 = performance.now();
      const topology: Record<string, number> = {
        likelihood: grid.evaluateIdentification(f, edgesOf(d, topo.parent)).edgeAccuracy,
        treeMetric: grid.evaluateIdentification(f, edgesOf(d, topo.initialParent ?? topo.parent))
          .edgeAccuracy,
      };
      if (opts.baselines) {
        topology.laplacian = grid.evaluateIdentification(
          f,
          edgesOf(d, grid.identifyTopology(d, { method: "laplacian", lossCorrection: 0 }).parent),
        ).edgeAccuracy;
        topology.variance = grid.evaluateIdentification(
          f,
          edgesOf(d, grid.identifyTopology(d, { method: "variance" }).parent),
        ).edgeAccuracy;
      }
      const exactTree = grid.evaluateIdentification(f, edgesOf(d, topo.parent)).exactTree;
      const toBranches = (est: ReturnType<typeof grid.identifyImpedances>) =>
        est.map((e) => ({
          from: d.busNames[e.parent]!,
          to: d.busNames[e.bus]!,
          rPu: e.r,
          xPu: e.x,
          ...(e.library
            ? { conductor: e.library.conductor, ties: e.library.ties, lengthKm: e.library.lengthKm }
            : {}),
        }));
      const t3 = performance.now();
      const lad = grid.evaluateIdentification(
        f,
        toBranches(grid.identifyImpedances(d, topo.parent, { solver: highs })),
      );
      const t4 = performance.now();
      const ls = grid.evaluateIdentification(
        f,
        toBranches(grid.identifyImpedances(d, topo.parent, { method: "ls" })),
      );
      const cell: Cell = {
        group,
        feeder: fid,
        vClass,
        pqClass,
        samples,
        resolutionMin: res,
        seed,
        topology,
        exactTree,
        lad: impedanceMetrics(lad),
        ls: impedanceMetrics(ls),
        seconds: {
          simulate: (t1 - t0) / 1000,
          topology: (t2 - t1) / 1000,
          ladSweep: (t4 - t3) / 1000,
          identifyLad: (t2 - t1 + t4 - t3) / 1000,
        },
      };
      if (opts.trueTree) {
        cell.ladTrueTree = impedanceMetrics(
          grid.evaluateIdentification(f, toBranches(grid.identifyImpedances(d, f.parent, { solver: highs }))),
        );
        cell.lsTrueTree = impedanceMetrics(
          grid.evaluateIdentification(f, toBranches(grid.identifyImpedances(d, f.parent, { method: "ls" }))),
        );
      }
      if (opts.library) {
        const library = grid.conductorsPu(f, grid.selectConductors({ family: "ieee" }));
        const m = grid.evaluateIdentification(
          f,
          toBranches(grid.identifyImpedances(d, f.parent, { method: "lad", library })),
        );
        cell.library = {
          conductorAccuracy: m.conductorAccuracy,
          lengthMape: m.lengthMape,
          medianApeZ: m.medianApeZ,
          medianApeR: m.medianApeR,
          medianApeX: m.medianApeX,
        };
      }
      cells.push(cell);
      const fmt = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(3));
      console.log(
        `[${group}] ${fid} v${vClass}% pq${pqClass}% T=${samples} ${res}min seed ${seed}: edges ${fmt(topology.likelihood)} ` +
          `(tree-metric ${fmt(topology.treeMetric)}) ` +
          `(lap ${fmt(topology.laplacian)}, var ${fmt(topology.variance)}) |z| med LAD ${lad.medianApeZ.toFixed(2)}% ` +
          `LS ${ls.medianApeZ.toFixed(2)}%${cell.ladTrueTree ? ` true-tree LAD ${cell.ladTrueTree.medianApeZ!.toFixed(2)}%` : ""} ` +
          `identify ${cell.seconds.identifyLad!.toFixed(1)} s`,
      );
      save();
      return d;
    };

    const save = () => {
      mkdirSync(outDir, { recursive: true });
      const doc = {
        name,
        command: `x bench grid ${argv.join(" ")}`.trim(),
        started: started.toISOString(),
        machine,
        seeds,
        cells,
        lp,
      };
      const jsonPath = join(outDir, `${name}.json`);
      writeFileSync(`${jsonPath}.tmp`, `${JSON.stringify(doc, null, 1)}\n`);
      renameSync(`${jsonPath}.tmp`, jsonPath);
      const mdPath = join(outDir, `${name}.md`);
      writeFileSync(`${mdPath}.tmp`, renderMarkdown(doc));
      renameSync(`${mdPath}.tmp`, mdPath);
    };

    // --- sweeps ---------------------------------------------------------------------------
    const noiseLevels: [number, number][] = quick
      ? [[0.1, 0.5]]
      : [
          [0, 0],
          [0.05, 0.2],
          [0.1, 0.5],
          [0.2, 1],
        ];
    const fids = quick ? ["ieee13"] : ["ieee13", "ieee37", "ieee69"];
    const baseT = quick ? 700 : 2880;
    for (const fid of sweepRuns ? fids : [])
      for (const [v, pq] of noiseLevels)
        for (const seed of seeds)
          runCell("noise", fid, v, pq, baseT, 15, seed, { baselines: true, trueTree: true });
    const sampleSizes = quick ? [300] : [672, 10000];
    let lpData: { d: SmartMeterData; f: Feeder } | undefined;
    if (lpOnly) {
      const fid = fids[fids.length - 1]!;
      const T = sampleSizes[sampleSizes.length - 1]!;
      lpData = { d: simulate(feeders[fid]!, 0.1, 0.5, T, 15, seeds[0]!), f: feeders[fid]! };
    }
    for (const fid of sweepRuns ? fids : [])
      for (const T of sampleSizes)
        for (const seed of seeds) {
          const d = runCell("samples", fid, 0.1, 0.5, T, 15, seed, { trueTree: true });
          if (fid === fids[fids.length - 1] && T === sampleSizes[sampleSizes.length - 1] && seed === seeds[0])
            lpData = { d, f: feeders[fid]! };
        }
    if (!quick && sweepRuns)
      for (const fid of fids)
        for (const res of [1, 60]) runCell("resolution", fid, 0.1, 0.5, baseT, res, seeds[0]!);
    for (const fid of !sweepRuns ? [] : quick ? ["ieee13"] : ["ieee13", "ieee37"])
      runCell("library", fid, 0.1, 0.5, baseT, 15, seeds[0]!, { library: true });

    // --- samples to exact topology --------------------------------------------------------
    // One simulation per feeder and seed at the largest T; shorter runs are its prefixes, re-metered.
    const exactPlan: [string, number, number, number[]][] = quick
      ? [["ieee13", 0.1, 0.5, [300, 700]]]
      : [
          ["ieee13", 0.1, 0.5, [672, 2880]],
          ["ieee37", 0.1, 0.5, [2880, 5000, 10000, 20000]],
          ["ieee37", 0.1, 0.1, [2880, 5000, 10000]],
          ["ieee69", 0.1, 0.5, [10000, 20000, 40000]],
          ["ieee69", 0.1, 0.1, [10000, 40000]],
          ["ieee69-merged", 0.1, 0.5, [5000, 10000, 20000, 40000]],
        ];
    if (!lpOnly) {
      for (const [fid, v, pq, sizes] of topologyOnly ? [] : exactPlan.filter((e) => selected(e[0]))) {
        const f = feeders[fid]!;
        for (const seed of exactSeeds) {
          const full = grid.simulateSmartMeters(f, {
            samples: Math.max(...sizes),
            seed,
            meters: "all",
            junctionLoad: 0.02,
            keepTruth: true,
          });
          for (const T of sizes) {
            const d = grid.remeter(prefixData(full, T), {
              seed,
              meters: "all",
              voltageSigma: grid.accuracyClassSigma(v),
              powerSigma: grid.accuracyClassSigma(pq),
            });
            const t0 = performance.now();
            const topo = grid.identifyTopology(d);
            const secs = (performance.now() - t0) / 1000;
            const m = grid.evaluateIdentification(f, edgesOf(d, topo.parent));
            const tm = grid.evaluateIdentification(f, edgesOf(d, topo.initialParent ?? topo.parent));
            const wrong = wrongBuses(f, topo.parent);
            // Exact up to contraction, next to (never instead of) the plain exact tree; only where the
            // feeder has sub-noise branches to contract (the full 69-bus).
            const mc =
              fid === "ieee69" ? grid.evaluateContractedTopology(f, edgesOf(d, topo.parent)) : undefined;
            cells.push({
              group: "exact",
              feeder: fid,
              vClass: v,
              pqClass: pq,
              samples: T,
              resolutionMin: 15,
              seed,
              topology: {
                likelihood: m.edgeAccuracy,
                treeMetric: tm.edgeAccuracy,
                wrongEdges: m.edges - m.correctEdges,
              },
              exactTree: m.exactTree,
              wrongBuses: wrong,
              ...(mc
                ? {
                    contracted: {
                      edgeAccuracy: mc.edgeAccuracy,
                      exactTree: mc.exactTree,
                      contractedBranches: mc.contractedBranches,
                      criterion: mc.criterion,
                    },
                  }
                : {}),
              seconds: { topology: secs },
            });
            console.log(
              `[exact] ${fid} v${v}% pq${pq}% T=${T} seed ${seed}: likelihood ${m.edgeAccuracy.toFixed(3)} ` +
                `(tree-metric ${tm.edgeAccuracy.toFixed(3)}) wrong [${wrong.join(" ")}]` +
                (mc ? ` contracted ${mc.edgeAccuracy.toFixed(3)} exact ${mc.exactTree}` : "") +
                ` ${secs.toFixed(1)} s`,
            );
            save();
          }
        }
      }
      // Topology alone across the noise levels at T = 2880 (default read-out vs its tree-metric start).
      for (const fid of skipTopology ? [] : fids.filter(selected))
        for (const [v, pq] of noiseLevels)
          for (const seed of exactSeeds) {
            const f = feeders[fid]!;
            const d = simulate(f, v, pq, baseT, 15, seed);
            const t0 = performance.now();
            const topo = grid.identifyTopology(d);
            const secs = (performance.now() - t0) / 1000;
            const m = grid.evaluateIdentification(f, edgesOf(d, topo.parent));
            const tm = grid.evaluateIdentification(f, edgesOf(d, topo.initialParent ?? topo.parent));
            cells.push({
              group: "topology",
              feeder: fid,
              vClass: v,
              pqClass: pq,
              samples: baseT,
              resolutionMin: 15,
              seed,
              topology: { likelihood: m.edgeAccuracy, treeMetric: tm.edgeAccuracy },
              exactTree: m.exactTree,
              seconds: { topology: secs },
            });
            console.log(
              `[topology] ${fid} v${v}% pq${pq}% T=${baseT} seed ${seed}: likelihood ${m.edgeAccuracy.toFixed(3)} ` +
                `(tree-metric ${tm.edgeAccuracy.toFixed(3)}) ${secs.toFixed(1)} s`,
            );
            save();
          }
    }

    // --- LP solvers on the LAD problems ---------------------------------------------------
    if (lpData) {
      const { d, f } = lpData;
      const branchSamples = sampleBranches(grid, d, f, quick ? 2 : 4);
      const limit = quick ? 5 : 20;
      const sizes = quick ? [d.samples] : [2880, d.samples];
      for (const T of sizes) {
        const subset = branchSamples.map((s) => sliceSamples(s, T));
        const contenders: [string, LpSolver | undefined, "dual" | "primal"][] = [
          ["highs", highs, "dual"],
          ["glpk", glpk, "dual"],
          ["highs", highs, "primal"],
          ...(T <= 2880 ? ([["glpk", glpk, "primal"]] as [string, LpSolver | undefined, "primal"][]) : []),
        ];
        const ref = subset.map((s) => grid.fitBranchLad(s, highs).loss);
        for (const [sname, solver, form] of contenders) {
          if (!solver) continue;
          const times: number[] = [];
          let lps = 0;
          let maxDiff = 0;
          let failed = 0;
          subset.forEach((s, k) => {
            const t0 = performance.now();
            try {
              const fit = grid.fitBranchLad(s, solver, { form, timeLimit: limit });
              times.push(performance.now() - t0);
              lps += fit.iterations;
              maxDiff = Math.max(maxDiff, Math.abs(fit.loss - ref[k]!) / Math.max(ref[k]!, 1e-300));
            } catch {
              failed++; // an LP hit the time limit (or failed)
            }
          });
          lp.push({
            samples: T,
            solver: sname,
            form,
            branches: subset.length,
            failed,
            timeLimitS: limit,
            medianMs: median(times),
            meanLpPerFit: times.length ? lps / times.length : Number.NaN,
            maxRelLossDiff: maxDiff,
          });
          console.log(
            `[lp] T=${T} ${sname}/${form}: median ${median(times).toFixed(0)} ms per branch fit, ${failed} over the ${limit} s limit`,
          );
          save();
        }
      }
    }
    save();
    console.log(`wrote ${join(outDir, `${name}.json`)} and .md`);
    return 0;
  },
};

type Grid = typeof import("@x/grid-model");

function readPrevious(path: string): { cells: Cell[]; lp?: LpCell[] } | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as { cells: Cell[]; lp?: LpCell[] };
  } catch {
    return undefined;
  }
}

/** Branch regression samples of evenly spaced branches on the true tree (exact flows from the measured loads). */
function sampleBranches(grid: Grid, d: SmartMeterData, f: Feeder, count: number): BranchSamples[] {
  // Stage 2 on the true tree with LS gives the flows; rebuild y, a, b, c per chosen branch.
  const est = grid.identifyImpedances(d, f.parent, { method: "ls", keepCurrents: true });
  const picks = est.filter((_, k) => k % Math.max(1, Math.floor(est.length / count)) === 0).slice(0, count);
  return picks.map((e) => {
    const T = d.samples;
    const vi = d.vm[e.parent]!;
    const vj = d.vm[e.bus]!;
    const l = e.l!;
    const y = new Float64Array(T);
    const a = new Float64Array(T);
    const b = new Float64Array(T);
    const c = new Float64Array(T);
    // Receiving-end flows from the subtree sums (loads plus downstream estimated losses).
    const P = new Float64Array(T);
    const Q = new Float64Array(T);
    const sub = subtree(f, e.bus);
    const lossOf = new Map(est.map((x) => [x.bus, x]));
    for (const k of sub) {
      const pk = d.p[k]!;
      const qk = d.q[k]!;
      const lk = k === e.bus ? undefined : lossOf.get(k);
      for (let t = 0; t < T; t++) {
        P[t] = P[t]! + pk[t]! + (lk ? lk.r * lk.l![t]! : 0);
        Q[t] = Q[t]! + qk[t]! + (lk ? lk.x * lk.l![t]! : 0);
      }
    }
    for (let t = 0; t < T; t++) {
      y[t] = vi[t]! * vi[t]! - vj[t]! * vj[t]!;
      a[t] = 2 * P[t]!;
      b[t] = 2 * Q[t]!;
      c[t] = l[t]!;
    }
    return { y, a, b, c };
  });
}

/**
 * Buses whose estimated edge to their parent is not a true edge (undirected), ignoring zero-impedance switches
 * (evaluateIdentification merges those, so their two ends are interchangeable).
 */
function wrongBuses(f: Feeder, parent: Int32Array): string[] {
  const truth = new Set<string>();
  const zero = new Uint8Array(f.parent.length);
  for (const br of f.branches) {
    truth.add(`${Math.min(br.from, br.to)}-${Math.max(br.from, br.to)}`);
    if (Math.hypot(br.rPu, br.xPu) <= 2e-5) zero[br.from] = zero[br.to] = 1;
  }
  const out: string[] = [];
  for (let j = 0; j < parent.length; j++) {
    const p = parent[j]!;
    if (p < 0 || zero[j] || zero[p]) continue;
    if (!truth.has(`${Math.min(j, p)}-${Math.max(j, p)}`)) out.push(f.buses[j]!.name);
  }
  return out;
}

/** The first T intervals of a simulation that kept its noise-free truth (for re-metering). */
function prefixData(d: SmartMeterData, T: number): SmartMeterData {
  const cut = (a: readonly Float64Array[]) => a.map((s) => s.slice(0, T));
  const truth = d.truth!;
  return {
    ...d,
    samples: T,
    startMinute: d.startMinute.slice(0, T),
    vm: cut(d.vm),
    p: cut(d.p),
    q: cut(d.q),
    truth: { ...truth, samples: T, vm: cut(truth.vm), p: cut(truth.p), q: cut(truth.q) },
  };
}

function subtree(f: Feeder, root: number): number[] {
  const out = [root];
  for (let h = 0; h < out.length; h++) out.push(...f.children[out[h]!]!);
  return out;
}

function sliceSamples(s: BranchSamples, T: number): BranchSamples {
  return { y: s.y.subarray(0, T), a: s.a.subarray(0, T), b: s.b.subarray(0, T), c: s.c.subarray(0, T) };
}

export interface Doc {
  name: string;
  command: string;
  started: string;
  machine: Record<string, unknown>;
  seeds: number[];
  cells: Cell[];
  lp: LpCell[];
}

/** Topology-only noise sweep: default read-out vs its tree-metric start, mean over seeds. */
export function renderTopologySweep(cells: Cell[]): string[] {
  if (!cells.length) return [];
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = [c.feeder, c.vClass, c.pqClass, c.samples].join("|");
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const out = [
    "",
    `## Topology vs meter noise (default likelihood read-out, T = ${cells[0]!.samples}, 15-min means)`,
    "",
    "| feeder | v class % | pq class % | edges likelihood | exact | edges tree-metric (its start) | topology s (median) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const cs of groups.values()) {
    const c0 = cs[0]!;
    const m = (k: string) => cs.reduce((s, c) => s + (c.topology[k] ?? Number.NaN), 0) / cs.length;
    out.push(
      `| ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${m("likelihood").toFixed(3)} | ${cs.filter((c) => c.exactTree).length}/${cs.length} | ` +
        `${m("treeMetric").toFixed(3)} | ${median(cs.map((c) => c.seconds.topology ?? Number.NaN)).toFixed(1)} |`,
    );
  }
  return out;
}

/** Samples-to-exact-topology section: accuracy per T and the smallest T at which every seed is exact. */
export function renderExact(cells: Cell[]): string[] {
  if (!cells.length) return [];
  const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "–");
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = [c.feeder, c.vClass, c.pqClass].join("|");
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const out = [
    "",
    "## Samples to exact topology (default read-out, every bus metered, 15-min means)",
    "",
    "Each seed is one simulation at the largest T; smaller T are its first intervals, re-metered. Wrong = buses whose parent is wrong " +
      "(union over seeds, count of seeds in parentheses).",
    "",
    "| feeder | v class % | pq class % | T | edges likelihood | edges tree-metric | exact | edges up to contraction | exact up to contraction | wrong buses | topology s (median) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const summary: string[] = [];
  const criteria: string[] = [];
  for (const cs of groups.values()) {
    const c0 = cs[0]!;
    const sizes = [...new Set(cs.map((c) => c.samples))].sort((a, b) => a - b);
    // Smallest T from which on every seed is exact at every larger T of the plan too.
    const firstFrom = (ok: (c: Cell) => boolean): number | undefined => {
      let first: number | undefined;
      for (const T of [...sizes].reverse()) {
        if (cs.filter((c) => c.samples === T).every(ok)) first = T;
        else break;
      }
      return first;
    };
    const firstExact = firstFrom((c) => c.exactTree);
    const hasContracted = cs.every((c) => c.contracted);
    const firstContracted = hasContracted ? firstFrom((c) => c.contracted!.exactTree) : undefined;
    let lastContracted = Number.NaN;
    let lastAcc = Number.NaN;
    for (const T of sizes) {
      const at = cs.filter((c) => c.samples === T);
      const acc = at.reduce((s, c) => s + (c.topology.likelihood ?? Number.NaN), 0) / at.length;
      const tm = at.reduce((s, c) => s + (c.topology.treeMetric ?? Number.NaN), 0) / at.length;
      const exact = at.filter((c) => c.exactTree).length;
      lastAcc = acc;
      const cAcc = hasContracted
        ? at.reduce((s, c) => s + c.contracted!.edgeAccuracy, 0) / at.length
        : Number.NaN;
      lastContracted = cAcc;
      const cExact = hasContracted ? `${at.filter((c) => c.contracted!.exactTree).length}/${at.length}` : "–";
      const count = new Map<string, number>();
      for (const c of at) for (const b of c.wrongBuses ?? []) count.set(b, (count.get(b) ?? 0) + 1);
      const wrong = [...count].map(([b, k]) => `${b} (${k})`).join(", ") || "–";
      out.push(
        `| ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${T} | ${f3(acc)} | ${f3(tm)} | ${exact}/${at.length} | ${f3(cAcc)} | ${cExact} | ${wrong} | ` +
          `${median(at.map((c) => c.seconds.topology ?? Number.NaN)).toFixed(1)} |`,
      );
    }
    const tMax = sizes[sizes.length - 1];
    const contractedCol = !hasContracted
      ? "–"
      : firstContracted !== undefined
        ? String(firstContracted)
        : `> ${tMax} (edges ${f3(lastContracted)})`;
    summary.push(
      `| ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${firstExact !== undefined ? String(firstExact) : `> ${tMax} (edges ${f3(lastAcc)})`} | ${contractedCol} |`,
    );
    const crit = hasContracted
      ? `${c0.contracted!.criterion} (${c0.contracted!.contractedBranches} branches of ${c0.feeder})`
      : undefined;
    if (crit && !criteria.includes(crit)) criteria.push(crit);
  }
  out.push(
    "",
    "Samples to exact (smallest T in the plan from which on every seed recovers the exact tree, at that T and every larger one):",
    "",
    "| feeder | v class % | pq class % | T to exact | T to exact up to contraction |",
    "|---|---|---|---|---|",
    ...summary,
  );
  if (criteria.length)
    out.push(
      "",
      `"Up to contraction" = both trees compared after contracting the same weak branches, chosen from the true feeder by ${criteria.join("; ")} ` +
        "(the built-in ieee69-merged is that same reduction of the feeder; identification on it is the row ieee69-merged). " +
        "It is reported next to the plain exact tree, never instead of it.",
    );
  return out;
}

/** Aggregates cells (mean over seeds) into the markdown report. */
export function renderMarkdown(doc: Doc): string {
  const f2 = (v: number | null | undefined, d = 2) =>
    v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(d);
  const groups = new Map<string, Cell[]>();
  for (const c of doc.cells) {
    if (c.group === "exact" || c.group === "topology") continue;
    const k = [c.group, c.feeder, c.vClass, c.pqClass, c.samples, c.resolutionMin].join("|");
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const mean = (a: (number | null | undefined)[]) => {
    const v = a.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN;
  };
  const lines = [
    `# Grid identification experiment (${doc.name})`,
    "",
    `Command: \`${doc.command}\`, started ${doc.started}. Machine: ${String(doc.machine.cpu)}, ${String(doc.machine.cores)} cores, Node ${String(doc.machine.node)}, load average at start ${JSON.stringify(doc.machine.loadAverageAtStart)} (cores shared with other jobs).`,
    "",
    "Data: `simulateSmartMeters` (household profiles, AC sweep, 15-min means unless stated), every bus metered, junction buses given 2 % of the largest load; " +
      "meter classes as maximum error = 3σ (v = |V| class, pq = P/Q class). Topology = edge accuracy of the default read-out " +
      "(likelihood tree search from the loss-corrected tree metric; cells run before it existed show – there and used the tree metric), with the " +
      "tree metric alone, the paper-style Laplacian inversion and Var-MinST for comparison; exact = share of seeds with the exact tree of the default. " +
      "Impedance columns: median |z| error (%) over correctly recovered edges (LAD/HiGHS, LS) and, on the true tree, median r / x APE (%) (stage 2 alone). " +
      `Mean over seeds ${JSON.stringify(doc.seeds)}.`,
    "",
    "| group | feeder | v class % | pq class % | T | res (min) | edges likelihood | tree-metric | Laplacian | Var-MinST | exact | LAD med |z| % | LS med |z| % | true tree LAD med r / x % | true tree LS med r / x % | identify s (LAD) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const cs of groups.values()) {
    const c0 = cs[0]!;
    const tt = (k: "ladTrueTree" | "lsTrueTree") =>
      cs.some((c) => c[k])
        ? `${f2(mean(cs.map((c) => c[k]?.medianApeR)))} / ${f2(mean(cs.map((c) => c[k]?.medianApeX)))}`
        : "–";
    lines.push(
      `| ${c0.group} | ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${c0.samples} | ${c0.resolutionMin} | ` +
        `${f2(mean(cs.map((c) => c.topology.likelihood)), 3)} | ${f2(mean(cs.map((c) => c.topology.treeMetric)), 3)} | ${f2(mean(cs.map((c) => c.topology.laplacian)), 3)} | ` +
        `${f2(mean(cs.map((c) => c.topology.variance)), 3)} | ${cs.filter((c) => c.exactTree).length}/${cs.length} | ` +
        `${f2(mean(cs.map((c) => c.lad?.medianApeZ)))} | ${f2(mean(cs.map((c) => c.ls?.medianApeZ)))} | ${tt("ladTrueTree")} | ${tt("lsTrueTree")} | ` +
        `${f2(mean(cs.map((c) => c.seconds.identifyLad)), 1)} |`,
    );
  }
  lines.push(...renderTopologySweep(doc.cells.filter((c) => c.group === "topology")));
  lines.push(...renderExact(doc.cells.filter((c) => c.group === "exact")));
  const lib = doc.cells.filter((c) => c.library);
  if (lib.length) {
    lines.push(
      "",
      "## Conductor library (enumeration, LAD, true tree)",
      "",
      "| feeder | T | conductor accuracy | length MAPE % | med |z| % | med r / x % |",
      "|---|---|---|---|---|---|",
    );
    for (const c of lib)
      lines.push(
        `| ${c.feeder} | ${c.samples} | ${f2(c.library!.conductorAccuracy as number, 3)} | ${f2(c.library!.lengthMape as number)} | ${f2(c.library!.medianApeZ as number)} | ${f2(c.library!.medianApeR as number)} / ${f2(c.library!.medianApeX as number)} |`,
      );
  }
  if (doc.lp.length) {
    lines.push(
      "",
      "## LP solvers on the LAD branch problems (69-bus, v 0.1 % / pq 0.5 %)",
      "",
      "Per-branch LAD fit with the lifted w ≥ r² + x² relaxation (tangent cuts, re-solved until the cone holds, plus the repair passes). " +
        "dual = 3 rows × (T + cuts) bounded columns (simplex); primal = T rows (HiGHS with IPM, glpk.js simplex). Median wall time per branch fit; max relative LAD-loss difference to HiGHS/dual.",
      "",
      "| T | solver | form | branches | over limit | median ms / fit | LPs / fit | max rel. loss diff |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const r of doc.lp)
      lines.push(
        `| ${r.samples} | ${r.solver} | ${r.form} | ${r.branches} | ${r.failed} (${r.timeLimitS} s/LP) | ${f2(r.medianMs, 1)} | ${f2(r.meanLpPerFit, 1)} | ${r.maxRelLossDiff.toExponential(1)} |`,
      );
  }
  return `${lines.join("\n")}\n`;
}
