import { seriesGram } from "./gram.js";
import { MeterDataError, type MeterSeries } from "./meter-data.js";
import { solveSpd } from "./normal-equations.js";
import type { BranchEstimate } from "./sweep.js";
import { bfsOrder } from "./tree.js";
import { lossCorrection } from "./tree-search.js";

/**
 * Joint (generalised) least squares of all branch impedances on a known tree (a stage 2 alternative).
 *
 * The per-branch sweep fits each v_π(j) − v_j on its own; every bus voltage then enters two branch equations and
 * the noise of adjacent branches is correlated, so the per-branch fits waste information. Here the bus voltages are
 * fitted jointly with the path-sum model (loss-corrected LinDistFlow, the stage-1 likelihood):
 *   v_0 − v_k = Σ_{e ∈ path(k)} 2 (r_e P_e + x_e Q_e) + noise_k − noise_0,
 * with the substation noise shared by all buses whitened (weight I − 11ᵀ/(n + 1)). The normal equations need only
 * the Gram matrix of the per-bus series (see gram.ts), so T enters once. LS, not robust: gross errors must
 * be screened first (`rows`).
 */
export interface JointFitOptions {
  /** Samples to use (default all). */
  readonly rows?: Int32Array;
}

export function fitImpedancesJoint(
  data: MeterSeries,
  parent: Int32Array,
  opts: JointFitOptions = {},
): BranchEstimate[] {
  const N = data.busNames.length;
  const root = data.root;
  const K = 3 * N;
  const order = bfsOrder(parent, root);
  const corr = lossCorrection(data, parent);
  const G = seriesGram(data, corr, opts.rows).G;
  // Subtree membership (post-order accumulation) and G · (Σ_{m ∈ sub(e)} p_m), G · (Σ q_m), G · (Σ w_m).
  const sub: number[][] = Array.from({ length: N }, (_, k) => [k]);
  const gp = new Float64Array(N * K);
  const gq = new Float64Array(N * K);
  for (let h = N - 1; h >= 1; h--) {
    const e = order[h]!;
    const o = e * K;
    for (let m = 0; m < K; m++) {
      gp[o + m] = gp[o + m]! + G[(N + e) * K + m]!;
      gq[o + m] = gq[o + m]! + G[(2 * N + e) * K + m]!;
    }
    const p = parent[e]!;
    if (p !== root) {
      sub[p]!.push(...sub[e]!);
      const op = p * K;
      for (let m = 0; m < K; m++) {
        gp[op + m] = gp[op + m]! + gp[o + m]!;
        gq[op + m] = gq[op + m]! + gq[o + m]!;
      }
    }
  }
  const edges = Array.from(order.subarray(1));
  const n = edges.length;
  const idx = new Int32Array(N).fill(-1);
  edges.forEach((e, i) => {
    idx[e] = i;
  });
  const size = (e: number) => sub[e]!.length;
  // c(e, f) = number of buses below both e and f = |sub(lower)| when nested, else 0.
  const inSub = sub.map((s) => {
    const m = new Uint8Array(N);
    for (const k of s) m[k] = 1;
    return m;
  });
  const common = (e: number, f: number) => (inSub[e]![f] ? size(f) : inSub[f]![e] ? size(e) : 0);
  // Inner products of flow series: <P_e, P_f> = Σ_{l ∈ sub(f)} (G·P_e)[p_l].
  const dot = (g: Float64Array, e: number, f: number, block: number) => {
    let s = 0;
    for (const l of sub[f]!) s += g[e * K + block * N + l]!;
    return s;
  };
  const A: number[][] = Array.from({ length: 2 * n }, () => new Array<number>(2 * n).fill(0));
  const b = new Array<number>(2 * n).fill(0);
  // Σ_k y_k with y_k = −w_k: inner products with flows are −Σ_k (G·P_e)[w_k].
  const allBuses = [...Array(N).keys()].filter((k) => k !== root);
  for (let i = 0; i < n; i++) {
    const e = edges[i]!;
    const se = size(e);
    for (const [gi, row] of [
      [gp, i],
      [gq, n + i],
    ] as const) {
      let own = 0;
      for (const k of sub[e]!) own -= gi[e * K + k]!;
      let tot = 0;
      for (const k of allBuses) tot -= gi[e * K + k]!;
      b[row] = own - (se * tot) / N;
    }
    for (let j = i; j < n; j++) {
      const f = edges[j]!;
      const w = common(e, f) - (se * size(f)) / N;
      const pp = dot(gp, e, f, 1) * w;
      const pq = dot(gp, e, f, 2) * w;
      const qp = dot(gq, e, f, 1) * w;
      const qq = dot(gq, e, f, 2) * w;
      A[i]![j] = A[j]![i] = pp;
      A[n + i]![n + j] = A[n + j]![n + i] = qq;
      A[i]![n + j] = A[n + j]![i] = pq;
      A[n + i]![j] = A[j]![n + i] = qp;
    }
  }
  const beta = solveSpd(A, b);
  if (!beta) throw new MeterDataError("joint impedance fit is singular (a subtree without load variation?)");
  const samples = opts.rows ? opts.rows.length : data.samples;
  return edges.map((e, i) => ({ bus: e, parent: parent[e]!, r: beta[i]! / 2, x: beta[n + i]! / 2, samples }));
}
