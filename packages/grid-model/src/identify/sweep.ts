import type { LpSolver } from "../solvers/lp.js";
import {
  type BranchFit,
  type BranchSamples,
  carriesNoFlow,
  fitBranchLad,
  fitBranchLs,
  fitBranchRobust,
  type LadOptions,
} from "./branch-fit.js";
import { fitBranchLibrary, type LibraryConductor, type LibraryFit } from "./library.js";
import { checkMeterSeries, interpolateMissing, MeterDataError, type MeterSeries } from "./meter-data.js";
import { bfsOrder } from "./tree.js";

export interface ImpedanceOptions {
  readonly method?: "lad" | "ls";
  /** Required for LAD. */
  readonly solver?: LpSolver;
  readonly lad?: LadOptions;
  /** Conductor-library mode: pick a type and length per branch instead of free (r, x). */
  readonly library?: readonly LibraryConductor[];
  /** Rated shunt capacitor per bus (pu at 1 pu voltage, constant impedance) when the metered q excludes it. */
  readonly qCapPu?: Float64Array;
  /** Minimum observed samples per branch. */
  readonly minSamples?: number;
  /** Keep the per-sample squared current ℓ of every branch (used by stage 1's loss correction). */
  readonly keepCurrents?: boolean;
  /**
   * LAD only: reject samples whose branch residual exceeds this many robust standard deviations and refit
   * (fitBranchRobust); 0 / undefined = plain LAD.
   */
  readonly rejectSigmas?: number;
  /** Called after each branch with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BranchEstimate {
  /** Child bus index (the branch into it). */
  readonly bus: number;
  readonly parent: number;
  /** NaN when the branch never carries flow (not identifiable). */
  readonly r: number;
  readonly x: number;
  readonly samples: number;
  readonly fit?: BranchFit;
  readonly library?: LibraryFit;
  /** Per-sample ℓ = |I|² (pu) with the estimated flows, when keepCurrents was set. */
  readonly l?: Float64Array;
  /** Samples rejected as gross errors by the residual test (rejectSigmas). */
  readonly rejected?: number;
}

/**
 * Stage 2 bottom-up sweep: leaves first, fit each branch on the receiving-end
 * flows of its subtree, then add the estimated losses r̂ℓ, x̂ℓ to the flow carried upstream.
 * Missing p/q are interpolated in time (flows need every subtree load); a branch only uses
 * samples where both end voltages were observed.
 */
export function identifyImpedances(
  data: MeterSeries,
  parent: Int32Array,
  opts: ImpedanceOptions = {},
): BranchEstimate[] {
  checkMeterSeries(data);
  const method = opts.method ?? "lad";
  if (method === "lad" && opts.lad?.engine === "lp" && !opts.solver && !opts.library)
    throw new MeterDataError('the "lp" LAD engine needs an LP solver');
  const N = data.busNames.length;
  const T = data.samples;
  const order = bfsOrder(parent, data.root);
  const v = data.vm.map((s) => {
    const o = new Float64Array(T);
    for (let t = 0; t < T; t++) o[t] = s[t]! * s[t]!;
    return o;
  });
  // Receiving-end flows start as the bus's own consumption (capacitor injection subtracted).
  const Pt = data.p.map((s) => interpolateMissing(s));
  const Qt = data.q.map((s, j) => {
    const q = interpolateMissing(s);
    const cap = opts.qCapPu?.[j] ?? 0;
    if (cap !== 0) {
      const vi = interpolateMissing(v[j]!);
      for (let t = 0; t < T; t++) q[t] = q[t]! - cap * vi[t]!;
    }
    return q;
  });
  for (let j = 0; j < N; j++) {
    if (Pt[j]!.some(Number.isNaN) || Qt[j]!.some(Number.isNaN)) {
      throw new MeterDataError(`bus ${data.busNames[j]}: no observed p/q sample at all`);
    }
  }
  const minSamples = opts.minSamples ?? 10;
  const out: BranchEstimate[] = [];
  const y = new Float64Array(T);
  const a = new Float64Array(T);
  const b = new Float64Array(T);
  const c = new Float64Array(T);
  for (let k = N - 1; k >= 1; k--) {
    const j = order[k]!;
    const i = parent[j]!;
    const vi = v[i]!;
    const vj = v[j]!;
    const P = Pt[j]!;
    const Q = Qt[j]!;
    const vjFill = interpolateMissing(vj);
    let m = 0;
    for (let t = 0; t < T; t++) {
      if (Number.isNaN(vi[t]!) || Number.isNaN(vj[t]!)) continue;
      y[m] = vi[t]! - vj[t]!;
      a[m] = 2 * P[t]!;
      b[m] = 2 * Q[t]!;
      c[m] = (P[t]! * P[t]! + Q[t]! * Q[t]!) / vj[t]!;
      m++;
    }
    if (m < minSamples) {
      throw new MeterDataError(
        `branch ${data.busNames[i]} -> ${data.busNames[j]}: only ${m} samples with both end voltages`,
      );
    }
    const s: BranchSamples = {
      y: y.subarray(0, m),
      a: a.subarray(0, m),
      b: b.subarray(0, m),
      c: c.subarray(0, m),
    };
    let est: BranchEstimate;
    if (opts.library && carriesNoFlow(s)) {
      est = { bus: j, parent: i, r: Number.NaN, x: Number.NaN, samples: m };
    } else if (opts.library) {
      const lib = fitBranchLibrary(s, opts.library, method);
      est = { bus: j, parent: i, r: lib.r, x: lib.x, samples: m, library: lib };
    } else {
      if (method === "lad" && opts.rejectSigmas) {
        const {
          rejected,
          residualScale: _,
          ...fit
        } = fitBranchRobust(s, {
          ...opts.lad,
          rejectSigmas: opts.rejectSigmas,
          ...(opts.solver ? { solver: opts.solver } : {}),
        });
        est = { bus: j, parent: i, r: fit.r, x: fit.x, samples: m, fit, rejected: rejected.length };
      } else {
        const fit = method === "lad" ? fitBranchLad(s, opts.solver, opts.lad) : fitBranchLs(s);
        est = { bus: j, parent: i, r: fit.r, x: fit.x, samples: m, fit };
      }
    }
    // Sending-end flow = receiving-end + losses; ℓ from the interpolated voltage on every sample.
    const PU = Pt[i]!;
    const QU = Qt[i]!;
    const keep = opts.keepCurrents ? new Float64Array(T) : undefined;
    for (let t = 0; t < T; t++) {
      const l = (P[t]! * P[t]! + Q[t]! * Q[t]!) / vjFill[t]!;
      if (keep) keep[t] = l;
      // An unidentifiable (flow-free) branch has ℓ = 0: no loss to carry.
      PU[t] = PU[t]! + P[t]! + (l > 0 ? est.r * l : 0);
      QU[t] = QU[t]! + Q[t]! + (l > 0 ? est.x * l : 0);
    }
    out.push(keep ? { ...est, l: keep } : est);
    opts.onProgress?.(N - k, N - 1);
  }
  return out.reverse();
}
