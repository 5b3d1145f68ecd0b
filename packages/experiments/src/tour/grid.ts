/**
 * The tour's grid section: smart-meter data simulated on the IEEE 13-bus feeder (every bus metered, class-c
 * meters, as the grid sweep), the topology identified and the branch impedances fitted by LAD, then compared with
 * the true feeder branch by branch; plus small sweeps of the same identification over meter noise and over the
 * number of samples (the grid sweep's cells).
 */
import { createSweepContext, runCell, type SweepContext, simulate } from "../grid-sweep/cells.js";
import { FULL_PLAN } from "../grid-sweep/plan.js";
import type { Cell } from "../grid-sweep/types.js";
import type { GridSection, TourSweepPoint } from "./types.js";

export interface TourGridOptions {
  /** Samples (15-minute intervals) of the main identification. */
  readonly samples: number;
  readonly seed: number;
  /** Seeds of each sweep point. */
  readonly sweepSeeds: readonly number[];
  /** [voltage class %, P/Q class %] of the noise sweep (at `samples`). */
  readonly noiseLevels: readonly (readonly [number, number])[];
  /** Sample counts of the samples sweep (at 0.1 % / 0.5 % meters). */
  readonly sampleSizes: readonly number[];
  readonly log?: (message: string) => void;
}

export const TOUR_GRID_CLASSES = { vClassPct: 0.1, pqClassPct: 0.5, resolutionMin: 15 } as const;
export const TOUR_GRID_NOISE = FULL_PLAN.noiseLevels;

const FEEDER = "ieee13";

export async function tourGrid(o: TourGridOptions): Promise<GridSection> {
  const cells: Cell[] = [];
  const ctx = await createSweepContext(o.log ?? (() => {}), () => {}, cells);
  const f = ctx.feeders[FEEDER]!;
  const { vClassPct, pqClassPct, resolutionMin } = TOUR_GRID_CLASSES;
  const d = simulate(ctx, f, vClassPct, pqClassPct, o.samples, resolutionMin, o.seed);
  const topo = ctx.grid.identifyTopology(d);
  const est = ctx.grid.identifyImpedances(d, topo.parent, { solver: ctx.highs });
  const estOf = new Map(est.map((e) => [e.bus, e]));
  const names = f.buses.map((b) => b.name);
  const busOf = (name: string) => {
    const i = d.busNames.indexOf(name);
    if (i < 0) throw new Error(`simulated data of ${FEEDER} has no bus "${name}"`);
    return i;
  };
  // Data buses → feeder buses by name (the simulation keeps the feeder's names).
  const idParent = (feederBus: number): string => d.busNames[topo.parent[busOf(names[feederBus]!)]!]!;
  const trueEdges = f.branches.map((b) => ({
    from: names[b.from]!,
    to: names[b.to]!,
    rPu: b.rPu,
    xPu: b.xPu,
  }));
  const identified = f.branches.map((b) => {
    const to = names[b.to]!;
    const from = idParent(b.to);
    const e = estOf.get(busOf(to));
    return { from, to, rPu: finiteOr(e?.r), xPu: finiteOr(e?.x) };
  });
  // Branches below the metrics' merge threshold (the 671–692 switch) cannot be told apart from no branch: as in
  // evaluateIdentification, their two ends count as one bus when deciding whether a branch is right.
  const rep = contraction(trueEdges, MERGE_BELOW_PU);
  const same = (e: { from: string; to: string }) => edgeKey(rep(e.from), rep(e.to));
  const trueKeys = new Set(trueEdges.map(same));
  const idKeys = new Set(identified.map(same));
  // Report the identified tree rooted like the true one: each bus's identified parent.
  const metrics = ctx.grid.evaluateIdentification(f, identified);
  const branchErrors = identified.flatMap((e) => {
    const t = trueEdges.find((x) => x.to === e.to && x.from === e.from);
    if (!t || !(t.rPu > 0) || !(t.xPu > 0)) return [];
    const rErrorPct = (100 * Math.abs(e.rPu - t.rPu)) / t.rPu;
    const xErrorPct = (100 * Math.abs(e.xPu - t.xPu)) / t.xPu;
    if (!Number.isFinite(rErrorPct) || !Number.isFinite(xErrorPct)) return [];
    return [
      {
        from: e.from,
        to: e.to,
        rTruePu: t.rPu,
        rEstPu: e.rPu,
        xTruePu: t.xPu,
        xEstPu: e.xPu,
        rErrorPct,
        xErrorPct,
      },
    ];
  });
  o.log?.(
    `${FEEDER}: ${metrics.correctEdges}/${metrics.edges} branches right, median |Δr| ${metrics.medianApeR.toFixed(2)} %, |Δx| ${metrics.medianApeX.toFixed(2)} %`,
  );

  const sweep = (group: Cell["group"], vClass: number, pqClass: number, samples: number) =>
    o.sweepSeeds.map((seed) =>
      point(ctx, cells, { group, feeder: FEEDER, vClass, pqClass, samples, resolutionMin, seed }),
    );
  return {
    status: "ok",
    feeder: { id: f.id, name: f.name, root: names[0]!, buses: names },
    conditions: { samples: o.samples, resolutionMin, vClassPct, pqClassPct, seed: o.seed, estimator: "lad" },
    trueTree: trueEdges.map((e) => ({ ...e, missed: rep(e.from) !== rep(e.to) && !idKeys.has(same(e)) })),
    identifiedTree: identified.map((e) => ({
      ...e,
      wrong: rep(e.from) !== rep(e.to) && !trueKeys.has(same(e)),
    })),
    metrics: {
      edgeAccuracy: metrics.edgeAccuracy,
      exactTree: metrics.exactTree,
      medianApeRPct: finiteOr(metrics.medianApeR),
      medianApeXPct: finiteOr(metrics.medianApeX),
    },
    branchErrors,
    noiseSweep: o.noiseLevels.flatMap(([v, pq]) => sweep("noise", v, pq, o.samples)),
    samplesSweep: o.sampleSizes.flatMap((n) => sweep("samples", vClassPct, pqClassPct, n)),
  };
}

/** Branches are undirected for "same edge" (the identified tree may orient a branch the other way). */
const edgeKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** evaluateIdentification's default: true branches with |z| below this (per unit) are contracted. */
const MERGE_BELOW_PU = 2e-5;

/** Bus → representative bus after contracting the branches with |z| below `threshold`. */
function contraction(
  edges: readonly { from: string; to: string; rPu: number; xPu: number }[],
  threshold: number,
) {
  const parent = new Map<string, string>();
  const find = (b: string): string => {
    const p = parent.get(b);
    if (p === undefined || p === b) return b;
    const r = find(p);
    parent.set(b, r);
    return r;
  };
  for (const e of edges)
    if (Math.hypot(e.rPu, e.xPu) <= threshold) {
      const a = find(e.from);
      const b = find(e.to);
      if (a !== b) parent.set(b, a);
    }
  return find;
}

/** The schema wants finite numbers; an unidentifiable impedance (no flow) is shown as 0. */
const finiteOr = (v: number | undefined, fallback = 0) =>
  v !== undefined && Number.isFinite(v) ? v : fallback;

function point(ctx: SweepContext, cells: Cell[], spec: Parameters<typeof runCell>[1]): TourSweepPoint {
  runCell(ctx, spec);
  const c = cells.at(-1)!;
  return {
    feeder: c.feeder,
    vClassPct: c.vClass,
    pqClassPct: c.pqClass,
    samples: c.samples,
    seed: c.seed,
    edgeAccuracy: c.topology.likelihood ?? 0,
    exactTree: c.exactTree,
    medianApeRPct: finiteOr(c.lad?.medianApeR),
    medianApeXPct: finiteOr(c.lad?.medianApeX),
  };
}
