/**
 * Topology alone: samples to the exact tree (one simulation per feeder and seed at the largest T, shorter runs
 * as its prefixes, re-metered) and the topology-vs-noise sweep at the base T.
 */
import type { Feeder, SmartMeterData } from "@x/grid-model";
import { edgesOf, type SweepContext, simulate } from "./cells.js";
import { prefixData, wrongBuses } from "./data.js";
import type { SweepPlan } from "./plan.js";

/** The default read-out's tree and its tree-metric start, scored against the feeder. */
function scoreTopology(ctx: SweepContext, f: Feeder, d: SmartMeterData) {
  const t0 = performance.now();
  const topo = ctx.grid.identifyTopology(d);
  const secs = (performance.now() - t0) / 1000;
  const m = ctx.grid.evaluateIdentification(f, edgesOf(d, topo.parent));
  const tm = ctx.grid.evaluateIdentification(f, edgesOf(d, topo.initialParent ?? topo.parent));
  return { topo, secs, m, tm };
}

/** Samples-to-exact cells for one plan entry and seed. */
export function runExactEntry(
  ctx: SweepContext,
  [fid, v, pq, sizes]: SweepPlan["exact"][number],
  seed: number,
): void {
  const { grid } = ctx;
  const f = ctx.feeders[fid]!;
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
    const { topo, secs, m, tm } = scoreTopology(ctx, f, d);
    const wrong = wrongBuses(f, topo.parent);
    // Exact up to contraction, next to (never instead of) the plain exact tree; only where the feeder has
    // sub-noise branches to contract (the full 69-bus).
    const mc = fid === "ieee69" ? grid.evaluateContractedTopology(f, edgesOf(d, topo.parent)) : undefined;
    ctx.cells.push({
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
    ctx.log(
      `[exact] ${fid} v${v}% pq${pq}% T=${T} seed ${seed}: likelihood ${m.edgeAccuracy.toFixed(3)} ` +
        `(tree-metric ${tm.edgeAccuracy.toFixed(3)}) wrong [${wrong.join(" ")}]` +
        (mc ? ` contracted ${mc.edgeAccuracy.toFixed(3)} exact ${mc.exactTree}` : "") +
        ` ${secs.toFixed(1)} s`,
    );
    ctx.checkpoint();
  }
}

/** One topology-vs-noise cell (default read-out vs its tree-metric start) at the base T. */
export function runTopologyCell(
  ctx: SweepContext,
  fid: string,
  [v, pq]: SweepPlan["noiseLevels"][number],
  T: number,
  seed: number,
): void {
  const f = ctx.feeders[fid]!;
  const { secs, m, tm } = scoreTopology(ctx, f, simulate(ctx, f, v, pq, T, 15, seed));
  ctx.cells.push({
    group: "topology",
    feeder: fid,
    vClass: v,
    pqClass: pq,
    samples: T,
    resolutionMin: 15,
    seed,
    topology: { likelihood: m.edgeAccuracy, treeMetric: tm.edgeAccuracy },
    exactTree: m.exactTree,
    seconds: { topology: secs },
  });
  ctx.log(
    `[topology] ${fid} v${v}% pq${pq}% T=${T} seed ${seed}: likelihood ${m.edgeAccuracy.toFixed(3)} ` +
      `(tree-metric ${tm.edgeAccuracy.toFixed(3)}) ${secs.toFixed(1)} s`,
  );
  ctx.checkpoint();
}
