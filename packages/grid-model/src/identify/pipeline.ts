import type { IdentifiedBranch } from "../metrics/metrics.js";
import { imputeMissing } from "../robust/impute.js";
import { type BadDataReport, type BadReading, badMeters, withoutReadings } from "../robust/report.js";
import { type ResidualTestOptions, testResiduals } from "../robust/residuals.js";
import { findSpikes, type SpikeOptions } from "../robust/spikes.js";
import type { LpSolver } from "../solvers/lp.js";
import type { LadOptions } from "./branch-fit.js";
import { type HiddenJunction, identifyHiddenJunctions } from "./hidden.js";
import { fitImpedancesJoint } from "./joint-fit.js";
import type { LibraryConductor } from "./library.js";
import type { MeterSeries } from "./meter-data.js";
import { MeterDataError } from "./meter-data.js";
import { identifyImpedances } from "./sweep.js";
import { identifyTopology, type TopologyMethod, type TopologyOptions } from "./topology.js";

/** Bad-data handling of identifyGrid (docs/bad-data.md); `false` turns all of it off. */
export interface BadDataOptions {
  /** Screen 1: isolated spikes in time, per reading (default on). */
  readonly spikes?: SpikeOptions | false;
  /** Screen 2: chi-squared test and largest normalised residual on the identified tree (default on). */
  readonly residuals?: ResidualTestOptions | false;
  /** Stage 2 (LAD): reject branch samples beyond this many robust σ and refit (default 5; 0 = off). */
  readonly rejectSigmas?: number;
}

/** Progress of identifyGrid, for a progress bar: `fraction` grows from 0 to 1. */
export interface IdentifyProgress {
  readonly stage: "screening" | "topology" | "bad-data" | "impedances";
  readonly fraction: number;
  readonly message: string;
}

export interface IdentifyOptions {
  readonly topology?: TopologyOptions;
  /** Stage 2: per-branch LAD / LS sweep, or "joint" generalised LS of all branches at once (fitImpedancesJoint). */
  readonly method?: "lad" | "ls" | "joint";
  /** LAD engine and LP settings (the LP engine needs `solver`). */
  readonly lad?: LadOptions;
  /**
   * An LP solver: passing one selects the "lp" LAD engine unless `lad.engine` says otherwise (without one, LAD runs
   * by IRLS).
   */
  readonly solver?: LpSolver;
  /** Bad-data handling (default on); `false` identifies from the readings as they are. */
  readonly badData?: BadDataOptions | false;
  /**
   * An edge whose log-likelihood margin over its best alternative is below this counts as uncertain
   * (default 4.6, i.e. confidence 0.99).
   */
  readonly uncertainMargin?: number;
  /**
   * With unmetered buses: insert the unmetered zero-injection junctions the data show (default false: on the
   * 69-bus it inserts spurious junctions; see docs/identification.md, "Hidden junctions"; not with method
   * "joint"). Without unmetered buses nothing changes.
   */
  readonly hiddenJunctions?: boolean;
  readonly onProgress?: (p: IdentifyProgress) => void;
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
  /**
   * Unmetered junctions inserted into the tree (present when there are unmetered buses): each is a bus of
   * `buses` and has branches like any other, fitted on its estimated voltage series.
   */
  readonly hiddenJunctions?: readonly HiddenJunction[];
  readonly topology: {
    readonly method: TopologyMethod;
    readonly design: "pq" | "p" | "none";
    readonly condition: number;
    readonly samplesUsed: number;
  };
  readonly impedance: {
    readonly method: "lad" | "ls" | "joint";
    /** LAD: "irls" or "lp". */
    readonly engine?: "irls" | "lp";
    readonly solver?: string;
    readonly library: boolean;
    /** Branches whose convex relaxation was exact (no repair needed). */
    readonly exactRelaxations: number;
    /** Largest relaxation gap w − (r² + x²) seen (pu²). */
    readonly maxGap: number;
  };
  readonly branches: readonly ModelBranch[];
  /** Edges with confidence below 0.99 (log-likelihood margin below `uncertainMargin`), as "from-to". */
  readonly uncertainEdges: readonly string[];
  /** What the bad-data steps flagged and left out (absent with badData: false). */
  readonly badData?: BadDataReport;
  /** Buses with P = Q = 0 in every reading and their place in the model (empty when there are none). */
  readonly zeroInjection: readonly ZeroInjectionBus[];
  readonly samples: number;
  readonly seconds: { readonly topology: number; readonly impedance: number; readonly badData: number };
}

/** One branch of an identified model. */
export interface ModelBranch extends IdentifiedBranch {
  readonly rOhm?: number;
  readonly xOhm?: number;
  readonly samples: number;
  readonly exact?: boolean;
  readonly gap?: number;
  /**
   * Probability-like confidence in the edge from the tree likelihood: 1 / (1 + e^(−m)) with m the log-likelihood
   * margin over the best tree without this edge (likelihood read-out only).
   */
  readonly confidence?: number;
  /** The log-likelihood margin m itself. */
  readonly margin?: number;
  /** Stage-2 samples rejected by the residual test. */
  readonly rejected?: number;
  /**
   * False when the branch carried no flow in any sample (e.g. into a zero-injection leaf): there is no voltage drop
   * to fit, rPu / xPu are NaN (null in JSON) and `note` says why.
   */
  readonly identifiable?: false;
  readonly note?: string;
}

/**
 * A bus whose P and Q read 0 in every sample (a known zero injection, as in state estimation) and how the model
 * uses it: a leaf hangs off the bus whose voltage it matches (no current, no drop); a junction passes on exactly
 * its children's flows (current balance).
 */
export interface ZeroInjectionBus {
  readonly bus: string;
  readonly role: "leaf" | "junction";
  readonly parent: string;
  /** Leaf: root-mean-square of |V_parent| − |V_bus| over the samples with both read (pu), i.e. meter noise. */
  readonly rmsDifferencePu?: number;
  /**
   * Leaf whose parent is a zero-injection bus too: with no flow between the two their voltages are equal, and which
   * of them carries the children cannot be told from the data (the IEEE 37-bus 709 / 775 pair).
   */
  readonly interchangeableWith?: string;
  /** Junction: its branch carries its children's flows with a positive identified impedance. */
  readonly consistent: boolean;
  readonly note: string;
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

/** Both stages, with the bad-data steps around them (docs/identification.md, docs/bad-data.md). */
export function identifyGrid(input: MeterSeries, opts: IdentifyOptions = {}): GridModel {
  const method = opts.method ?? "lad";
  const { data: raw, hidden } = dropHiddenBuses(input);
  const bad = opts.badData === false ? undefined : (opts.badData ?? {});
  const report = (stage: IdentifyProgress["stage"], fraction: number, message: string) =>
    opts.onProgress?.({ stage, fraction, message });
  if (method === "joint" && (opts.library || opts.qCapPu))
    throw new MeterDataError("the joint impedance fit supports neither the conductor library nor qCapPu");
  const t0 = performance.now();
  let flags: BadReading[] = [];
  let data = raw;
  if (bad && bad.spikes !== false) {
    report("screening", 0, "screening readings for spikes");
    flags = findSpikes(raw, bad.spikes ?? {});
    data = withoutReadings(raw, flags);
  }
  // Gaps (missing or flagged readings) are filled by their conditional expectation for stage 1.
  const hasGaps = (d: MeterSeries) =>
    [d.vm, d.p, d.q].some((a) => a.some((s, j) => j !== d.root && s.some(Number.isNaN)));
  let filled = bad && hasGaps(data) ? imputeMissing(data) : data;
  const tb = performance.now();
  report("topology", 0.05, "identifying the topology");
  const topoOpts = (base: TopologyOptions | undefined, from: number, to: number): TopologyOptions => {
    let k = 0;
    return {
      ...base,
      onProgress: (step) => {
        k++;
        report("topology", from + (to - from) * (1 - 1 / (1 + k / 4)), step);
        base?.onProgress?.(step);
      },
    };
  };
  let topo = identifyTopology(filled, topoOpts(opts.topology, 0.05, 0.6));
  let chi = { before: 0, after: 0 };
  let tBad = tb - t0;
  if (bad && bad.residuals !== false && method !== "joint") {
    const t2 = performance.now();
    report("bad-data", 0.6, "chi-squared and largest-normalised-residual tests");
    const ls = identifyImpedances(filled, topo.parent, { method: "ls", minSamples: 3 });
    const r = new Float64Array(data.busNames.length).fill(Number.NaN);
    const x = new Float64Array(data.busNames.length).fill(Number.NaN);
    for (const e of ls) {
      r[e.bus] = e.r;
      x[e.bus] = e.x;
    }
    const res = testResiduals(data, topo.parent, r, x, bad.residuals ?? {});
    chi = res.chiSquaredFailed;
    if (res.flags.length > 0) {
      flags = [...flags, ...res.flags];
      data = withoutReadings(data, res.flags);
      filled = imputeMissing(data);
      tBad += performance.now() - t2;
      report("topology", 0.65, "refining the topology without the flagged readings");
      if ((opts.topology?.method ?? "likelihood") === "likelihood")
        topo = identifyTopology(filled, { ...topoOpts(opts.topology, 0.65, 0.8), startParent: topo.parent });
      else topo = identifyTopology(filled, topoOpts(opts.topology, 0.65, 0.8));
    } else tBad += performance.now() - t2;
  }
  // Stage 2 takes the filled loads (flows need every load) but only observed voltages (its samples need both
  // ends of a branch measured).
  let stage2Data: MeterSeries = filled === data ? data : { ...filled, vm: data.vm };
  // Stage 1b: unmetered junctions (only when some bus is unmetered; otherwise the model is unchanged).
  let junctions: HiddenJunction[] | undefined;
  let treeParent = topo.parent;
  const metered = data.busNames.length;
  if (hidden.length > 0 && opts.hiddenJunctions === true && method !== "joint") {
    report("topology", 0.78, "looking for unmetered junctions");
    const found = identifyHiddenJunctions(filled, topo.parent, hidden);
    junctions = found?.junctions ?? [];
    if (found) {
      const extra = found.data.vm.slice(metered);
      const zeros = extra.map(() => new Float64Array(data.samples));
      filled = found.data;
      stage2Data = { ...stage2Data, busNames: found.data.busNames, vm: [...stage2Data.vm, ...extra] };
      stage2Data = { ...stage2Data, p: [...stage2Data.p, ...zeros], q: [...stage2Data.q, ...zeros] };
      data = { ...data, busNames: found.data.busNames, vm: [...data.vm, ...extra] };
      data = { ...data, p: [...data.p, ...zeros], q: [...data.q, ...zeros] };
      treeParent = found.parent;
    }
  }
  const t1 = performance.now();
  report("impedances", 0.8, "fitting branch impedances");
  const rejectSigmas = bad ? (bad.rejectSigmas ?? 5) : 0;
  const lad: LadOptions = { ...opts.lad, engine: opts.lad?.engine ?? (opts.solver ? "lp" : "irls") };
  const est =
    method === "joint"
      ? fitImpedancesJoint(filled, treeParent)
      : identifyImpedances(stage2Data, treeParent, {
          method,
          ...(opts.solver ? { solver: opts.solver } : {}),
          lad,
          ...(opts.library ? { library: opts.library } : {}),
          ...(opts.qCapPu ? { qCapPu: opts.qCapPu } : {}),
          ...(method === "lad" && rejectSigmas > 0 ? { rejectSigmas } : {}),
          onProgress: (done, total) =>
            report("impedances", 0.8 + (0.2 * done) / total, `branch ${done}/${total}`),
        });
  const t2 = performance.now();
  const names = data.busNames;
  const zb = opts.zBaseOhm;
  let exactRelaxations = 0;
  let maxGap = 0;
  let branchRejections = 0;
  const uncertain: string[] = [];
  const limit = opts.uncertainMargin ?? 4.6;
  const sigma2 = topo.residualVariance;
  const branches: ModelBranch[] = est.map((e) => {
    if (e.fit?.exact) exactRelaxations++;
    if (e.fit) maxGap = Math.max(maxGap, e.fit.gap);
    branchRejections += e.rejected ?? 0;
    // Branches into or out of an inserted junction: the junction's own margin (its insertion's gain).
    const jn = junctions && e.bus >= metered ? junctions[e.bus - metered] : undefined;
    const jp = junctions && e.parent >= metered ? junctions[e.parent - metered] : undefined;
    const raw =
      jn || jp
        ? 2 * (sigma2 ?? 0) * Math.min(jn?.margin ?? Infinity, jp?.margin ?? Infinity)
        : topo.margin?.[e.bus];
    const margin =
      raw !== undefined && sigma2 !== undefined && sigma2 > 0
        ? Number.isFinite(raw)
          ? raw / (2 * sigma2)
          : Number.POSITIVE_INFINITY
        : undefined;
    const confidence = margin === undefined ? undefined : 1 / (1 + Math.exp(-margin));
    if (margin !== undefined && margin < limit) uncertain.push(`${names[e.parent]}-${names[e.bus]}`);
    const identifiable = Number.isFinite(e.r) && Number.isFinite(e.x);
    return {
      from: names[e.parent]!,
      to: names[e.bus]!,
      rPu: e.r,
      xPu: e.x,
      ...(zb && identifiable ? { rOhm: e.r * zb, xOhm: e.x * zb } : {}),
      ...(identifiable
        ? {}
        : {
            identifiable: false as const,
            note: "no flow in any sample (no current, no voltage drop): impedance not identifiable from the data",
          }),
      ...(e.library
        ? { conductor: e.library.conductor, ties: e.library.ties, lengthKm: e.library.lengthKm }
        : {}),
      samples: e.samples,
      ...(e.fit ? { exact: e.fit.exact, gap: e.fit.gap } : {}),
      ...(confidence !== undefined ? { confidence, margin: Number.isFinite(margin!) ? margin! : 1e300 } : {}),
      ...(e.rejected !== undefined ? { rejected: e.rejected } : {}),
    };
  });
  report("impedances", 1, "done");
  let missing = 0;
  for (const a of [raw.vm, raw.p, raw.q])
    a.forEach((s, j) => {
      if (j === raw.root && a !== raw.vm) return;
      for (let t = 0; t < s.length; t++) if (Number.isNaN(s[t]!)) missing++;
    });
  const zeroInjection = zeroInjectionReport(data, treeParent, branches, metered);
  return {
    format: "x-grid-model/1",
    root: names[data.root]!,
    buses: [...names],
    ...(zb ? { zBaseOhm: zb } : {}),
    hiddenBuses: hidden,
    ...(junctions ? { hiddenJunctions: junctions } : {}),
    topology: {
      method: topo.method,
      design: topo.design,
      condition: topo.condition,
      samplesUsed: topo.samplesUsed,
    },
    impedance: {
      method,
      ...(method === "lad" && !opts.library
        ? { engine: lad.engine, ...(opts.solver && lad.engine === "lp" ? { solver: opts.solver.name } : {}) }
        : {}),
      library: opts.library !== undefined,
      exactRelaxations,
      maxGap,
    },
    branches,
    uncertainEdges: uncertain,
    ...(bad
      ? {
          badData: {
            readings: flags,
            meters: badMeters(raw, flags),
            missing,
            chiSquaredFailed: chi,
            branchRejections,
          },
        }
      : {}),
    zeroInjection,
    samples: data.samples,
    seconds: { topology: (t1 - t0 - tBad) / 1000, impedance: (t2 - t1) / 1000, badData: tBad / 1000 },
  };
}

/** Zero-injection buses (P = Q = 0 in every reading) of the identified tree: placement and current balance. */
function zeroInjectionReport(
  data: MeterSeries,
  parent: Int32Array,
  branches: readonly ModelBranch[],
  metered: number,
): ZeroInjectionBus[] {
  const names = data.busNames;
  const out: ZeroInjectionBus[] = [];
  const into = new Map(branches.map((b) => [b.to, b]));
  const zero = (s: Float64Array) => s.every((x) => x === 0 || Number.isNaN(x)) && s.some((x) => x === 0);
  const isZero = names.map((_, k) => k !== data.root && zero(data.p[k]!) && zero(data.q[k]!));
  // Inserted unmetered junctions (from `metered` on) are reported as hiddenJunctions instead.
  for (let j = 0; j < metered; j++) {
    if (!isZero[j]) continue;
    const i = parent[j]!;
    const kids = names.filter((_, k) => parent[k] === j);
    if (kids.length === 0) {
      const vi = data.vm[i]!;
      const vj = data.vm[j]!;
      let s = 0;
      let m = 0;
      for (let t = 0; t < data.samples; t++) {
        const d = vi[t]! - vj[t]!;
        if (Number.isNaN(d)) continue;
        s += d * d;
        m++;
      }
      out.push({
        bus: names[j]!,
        role: "leaf",
        parent: names[i]!,
        ...(m > 0 ? { rmsDifferencePu: Math.sqrt(s / m) } : {}),
        ...(isZero[i] ? { interchangeableWith: names[i]! } : {}),
        consistent: true,
        note:
          `no current: placed under the bus whose voltage it matches (${names[i]}); the impedance of ${names[i]}-${names[j]} is not identifiable` +
          (isZero[i]
            ? `; ${names[i]} injects nothing either, so the two have the same voltage and which of them carries ${names[i]}'s other branches cannot be told from the data`
            : ""),
      });
      continue;
    }
    const b = into.get(names[j]!);
    const ok = b !== undefined && b.rPu + b.xPu > 0 && Number.isFinite(b.rPu + b.xPu);
    out.push({
      bus: names[j]!,
      role: "junction",
      parent: names[i]!,
      consistent: ok,
      note: ok
        ? `current balance: the branch ${names[i]}-${names[j]} carries the flows of ${kids.join(", ")}`
        : `the branch ${names[i]}-${names[j]} carries the flows of ${kids.join(", ")} without a voltage drop (zero impedance): the junction is indistinguishable from a leaf of its child`,
    });
  }
  return out;
}
