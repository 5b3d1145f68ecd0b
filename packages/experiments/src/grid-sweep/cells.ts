/**
 * One cell of the grid sweep: simulate a feeder's smart-meter data, identify topology (default read-out and the
 * baselines) and impedances (LAD / LS, optionally on the true tree and with the conductor library), and score it.
 */
import type { Feeder, LpSolver, SmartMeterData } from "@x/grid-model";
import type { Cell, Grid } from "./types.js";

/** What every part of the sweep shares: the package, the LP solvers, the feeders, and the records so far. */
export interface SweepContext {
  readonly grid: Grid;
  readonly highs: LpSolver;
  /** glpk.js when installed (an optional GPL peer of @x/grid-model). */
  readonly glpk: LpSolver | undefined;
  readonly feeders: Readonly<Record<string, Feeder>>;
  readonly cells: Cell[];
  readonly log: (message: string) => void;
  /** Called after every record, so a long run keeps what it has (the caller writes the result files). */
  readonly checkpoint: () => void;
}

export const FEEDER_IDS = ["ieee13", "ieee37", "ieee69", "ieee69-merged"] as const;

export async function createSweepContext(
  log: (message: string) => void,
  checkpoint: () => void,
  cells: Cell[],
): Promise<SweepContext> {
  const grid = await import("@x/grid-model");
  const highs = await grid.createLpSolver("highs");
  let glpk: LpSolver | undefined;
  try {
    glpk = await grid.createLpSolver("glpk");
  } catch {
    glpk = undefined;
  }
  const feeders: Record<string, Feeder> = {
    ieee13: grid.ieee13(),
    ieee37: grid.ieee37(),
    ieee69: grid.case69(),
    // Sub-noise branches contracted (grid.IEEE69_MERGE_DROP_PU): identification up to indistinguishable branches.
    "ieee69-merged": grid.builtinFeeder("ieee69-merged"),
  };
  return { grid, highs, glpk, feeders, cells, log, checkpoint };
}

/** The "modified" feeders' data: every bus metered, junctions given 2 % of the largest load, class-c meters. */
export function simulate(
  ctx: SweepContext,
  f: Feeder,
  vClass: number,
  pqClass: number,
  samples: number,
  res: number,
  seed: number,
): SmartMeterData {
  const { grid } = ctx;
  return grid.simulateSmartMeters(f, {
    samples,
    seed,
    intervalMinutes: res,
    meters: "all",
    junctionLoad: 0.02,
    voltageSigma: grid.accuracyClassSigma(vClass),
    powerSigma: grid.accuracyClassSigma(pqClass),
  });
}

/** The identified tree as branch records for `evaluateIdentification` (impedances 1 when not given). */
export function edgesOf(d: SmartMeterData, parent: Int32Array, r?: Float64Array, x?: Float64Array) {
  const out = [];
  for (let j = 0; j < parent.length; j++) {
    if (j === d.root) continue;
    out.push({ from: d.busNames[parent[j]!]!, to: d.busNames[j]!, rPu: r?.[j] ?? 1, xPu: x?.[j] ?? 1 });
  }
  return out;
}

function impedanceMetrics(m: ReturnType<Grid["evaluateIdentification"]>) {
  return {
    edgeAccuracy: m.edgeAccuracy,
    mapeR: m.mapeR,
    mapeX: m.mapeX,
    medianApeR: m.medianApeR,
    medianApeX: m.medianApeX,
    medianApeZ: m.medianApeZ,
    within5: m.within5,
  };
}

export interface CellSpec {
  readonly group: Cell["group"];
  readonly feeder: string;
  readonly vClass: number;
  readonly pqClass: number;
  readonly samples: number;
  readonly resolutionMin: number;
  readonly seed: number;
  /** Also the Laplacian and Var-MinST topology read-outs. */
  readonly baselines?: boolean;
  /** Also the conductor-library fit on the true tree. */
  readonly library?: boolean;
  /** Also stage 2 on the true tree (separates stage-2 quality from topology errors). */
  readonly trueTree?: boolean;
}

function topologyScores(ctx: SweepContext, f: Feeder, d: SmartMeterData, baselines: boolean) {
  const { grid } = ctx;
  const topo = grid.identifyTopology(d);
  const score = (parent: Int32Array) => grid.evaluateIdentification(f, edgesOf(d, parent));
  const topology: Record<string, number> = {
    likelihood: score(topo.parent).edgeAccuracy,
    treeMetric: score(topo.initialParent ?? topo.parent).edgeAccuracy,
  };
  if (baselines) {
    topology.laplacian = score(
      grid.identifyTopology(d, { method: "laplacian", lossCorrection: 0 }).parent,
    ).edgeAccuracy;
    topology.variance = score(grid.identifyTopology(d, { method: "variance" }).parent).edgeAccuracy;
  }
  return { topo, topology, exactTree: score(topo.parent).exactTree };
}

/** Runs one cell, records it, and returns its data (the LP comparison reuses one). */
export function runCell(ctx: SweepContext, s: CellSpec): SmartMeterData {
  const { grid, highs } = ctx;
  const f = ctx.feeders[s.feeder]!;
  const t0 = performance.now();
  const d = simulate(ctx, f, s.vClass, s.pqClass, s.samples, s.resolutionMin, s.seed);
  const t1 = performance.now();
  const { topo, topology, exactTree } = topologyScores(ctx, f, d, s.baselines ?? false);
  const t2 = performance.now();
  const toBranches = (est: ReturnType<Grid["identifyImpedances"]>) =>
    est.map((e) => ({
      from: d.busNames[e.parent]!,
      to: d.busNames[e.bus]!,
      rPu: e.r,
      xPu: e.x,
      ...(e.library
        ? { conductor: e.library.conductor, ties: e.library.ties, lengthKm: e.library.lengthKm }
        : {}),
    }));
  const fit = (parent: Int32Array, opts: Parameters<Grid["identifyImpedances"]>[2]) =>
    grid.evaluateIdentification(f, toBranches(grid.identifyImpedances(d, parent, opts)));
  const t3 = performance.now();
  const lad = fit(topo.parent, { solver: highs });
  const t4 = performance.now();
  const ls = fit(topo.parent, { method: "ls" });
  const cell: Cell = {
    group: s.group,
    feeder: s.feeder,
    vClass: s.vClass,
    pqClass: s.pqClass,
    samples: s.samples,
    resolutionMin: s.resolutionMin,
    seed: s.seed,
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
  if (s.trueTree) {
    cell.ladTrueTree = impedanceMetrics(fit(f.parent, { solver: highs }));
    cell.lsTrueTree = impedanceMetrics(fit(f.parent, { method: "ls" }));
  }
  if (s.library) {
    const library = grid.conductorsPu(f, grid.selectConductors({ family: "ieee" }));
    const m = fit(f.parent, { method: "lad", library });
    cell.library = {
      conductorAccuracy: m.conductorAccuracy,
      lengthMape: m.lengthMape,
      medianApeZ: m.medianApeZ,
      medianApeR: m.medianApeR,
      medianApeX: m.medianApeX,
    };
  }
  ctx.cells.push(cell);
  const fmt = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(3));
  ctx.log(
    `[${s.group}] ${s.feeder} v${s.vClass}% pq${s.pqClass}% T=${s.samples} ${s.resolutionMin}min seed ${s.seed}: edges ${fmt(topology.likelihood)} ` +
      `(tree-metric ${fmt(topology.treeMetric)}) ` +
      `(lap ${fmt(topology.laplacian)}, var ${fmt(topology.variance)}) |z| med LAD ${lad.medianApeZ.toFixed(2)}% ` +
      `LS ${ls.medianApeZ.toFixed(2)}%${cell.ladTrueTree ? ` true-tree LAD ${cell.ladTrueTree.medianApeZ!.toFixed(2)}%` : ""} ` +
      `identify ${cell.seconds.identifyLad!.toFixed(1)} s`,
  );
  ctx.checkpoint();
  return d;
}
