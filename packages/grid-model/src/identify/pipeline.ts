import type { IdentifiedBranch } from "../metrics/metrics.js";
import type { LpSolver } from "../solvers/lp.js";
import { fitImpedancesJoint } from "./joint-fit.js";
import type { LibraryConductor } from "./library.js";
import type { MeterSeries } from "./meter-data.js";
import { MeterDataError } from "./meter-data.js";
import { identifyImpedances } from "./sweep.js";
import { identifyTopology, type TopologyMethod, type TopologyOptions } from "./topology.js";

export interface IdentifyOptions {
  readonly topology?: TopologyOptions;
  /** Stage 2: per-branch LAD / LS sweep, or "joint" generalised LS of all branches at once (fitImpedancesJoint). */
  readonly method?: "lad" | "ls" | "joint";
  readonly solver?: LpSolver;
  readonly library?: readonly LibraryConductor[];
  readonly qCapPu?: Float64Array;
  /** Known feeder base, to report impedances in ohm as well. */
  readonly zBaseOhm?: number;
}

/** An identified feeder model: the JSON written by `x grid identify`. */
export interface GridModel {
  readonly format: "x-grid-model/1";
  readonly root: string;
  readonly buses: readonly string[];
  readonly zBaseOhm?: number;
  /**
   * Buses without any voltage reading, left out of the model: each metered bus then hangs from
   * its nearest metered ancestor with the equivalent (path) impedance.
   */
  readonly hiddenBuses: readonly string[];
  readonly topology: {
    readonly method: TopologyMethod;
    readonly design: "pq" | "p" | "none";
    readonly condition: number;
    readonly samplesUsed: number;
  };
  readonly impedance: {
    readonly method: "lad" | "ls" | "joint";
    readonly solver?: string;
    readonly library: boolean;
    /** Branches whose convex relaxation was exact (no repair needed). */
    readonly exactRelaxations: number;
    /** Largest relaxation gap w − (r² + x²) seen (pu²). */
    readonly maxGap: number;
  };
  readonly branches: readonly (IdentifiedBranch & {
    readonly rOhm?: number;
    readonly xOhm?: number;
    readonly samples: number;
    readonly exact?: boolean;
    readonly gap?: number;
  })[];
  readonly samples: number;
  readonly seconds: { readonly topology: number; readonly impedance: number };
}

/** Restricts the series to buses with at least one voltage reading (the root always stays). */
function dropHiddenBuses(data: MeterSeries): { data: MeterSeries; hidden: string[] } {
  const keep: number[] = [];
  const hidden: string[] = [];
  data.busNames.forEach((name, j) => {
    if (j === data.root || data.vm[j]!.some((v) => !Number.isNaN(v))) keep.push(j);
    else hidden.push(name);
  });
  if (hidden.length === 0) return { data, hidden };
  const pick = <T>(a: readonly T[]) => keep.map((j) => a[j]!);
  return {
    data: {
      busNames: pick(data.busNames),
      root: keep.indexOf(data.root),
      samples: data.samples,
      vm: pick(data.vm),
      // Unmetered loads are unknown: a hidden bus with load biases the flows upstream of it.
      p: pick(data.p),
      q: pick(data.q),
    },
    hidden,
  };
}

/** Both stages (spec §4): topology, then the bottom-up impedance sweep on the recovered tree. */
export function identifyGrid(input: MeterSeries, opts: IdentifyOptions = {}): GridModel {
  const method = opts.method ?? "lad";
  const { data, hidden } = dropHiddenBuses(input);
  const t0 = performance.now();
  const topo = identifyTopology(data, opts.topology);
  const t1 = performance.now();
  if (method === "joint" && (opts.library || opts.qCapPu))
    throw new MeterDataError("the joint impedance fit supports neither the conductor library nor qCapPu");
  const est =
    method === "joint"
      ? fitImpedancesJoint(data, topo.parent)
      : identifyImpedances(data, topo.parent, {
          method,
          ...(opts.solver ? { solver: opts.solver } : {}),
          ...(opts.library ? { library: opts.library } : {}),
          ...(opts.qCapPu ? { qCapPu: opts.qCapPu } : {}),
        });
  const t2 = performance.now();
  const names = data.busNames;
  const zb = opts.zBaseOhm;
  let exactRelaxations = 0;
  let maxGap = 0;
  const branches = est.map((e) => {
    if (e.fit?.exact) exactRelaxations++;
    if (e.fit) maxGap = Math.max(maxGap, e.fit.gap);
    return {
      from: names[e.parent]!,
      to: names[e.bus]!,
      rPu: e.r,
      xPu: e.x,
      ...(zb ? { rOhm: e.r * zb, xOhm: e.x * zb } : {}),
      ...(e.library
        ? { conductor: e.library.conductor, ties: e.library.ties, lengthKm: e.library.lengthKm }
        : {}),
      samples: e.samples,
      ...(e.fit ? { exact: e.fit.exact, gap: e.fit.gap } : {}),
    };
  });
  return {
    format: "x-grid-model/1",
    root: names[data.root]!,
    buses: [...names],
    ...(zb ? { zBaseOhm: zb } : {}),
    hiddenBuses: hidden,
    topology: {
      method: topo.method,
      design: topo.design,
      condition: topo.condition,
      samplesUsed: topo.samplesUsed,
    },
    impedance: {
      method,
      ...(opts.solver && !opts.library && method === "lad" ? { solver: opts.solver.name } : {}),
      library: opts.library !== undefined,
      exactRelaxations,
      maxGap,
    },
    branches,
    samples: data.samples,
    seconds: { topology: (t1 - t0) / 1000, impedance: (t2 - t1) / 1000 },
  };
}
