import { invert, qrLeastSquares, SingularMatrixError } from "./linalg.js";
import { checkMeterSeries, interpolateMissing, MeterDataError, type MeterSeries } from "./meter-data.js";
import { primTree } from "./tree.js";
import { lossCorrection, type SeriesCorrection, searchTree } from "./tree-search.js";

/**
 * Stage 1 read-outs (spec §2):
 * - "likelihood" (default): the tree-metric tree below as the start of a local search on the Gaussian
 *   likelihood of the voltages given a tree (branch fits r, x >= 0 on subtree flows, loss-corrected, path-summed
 *   residuals; see tree-search.ts). Uses the mean voltage drops and every branch's full flow, not only n² noisy
 *   sensitivities: exact on the 37-bus feeder at 0.1 %-class meters from ~5–10k samples (issue 6).
 * - "laplacian": paper-faithful — regress, invert the sensitivity, maximum spanning tree on the
 *   Laplacian weights. Exact on noise-free LinDistFlow data but amplifies noise by cond(R).
 * - "tree-metric": the same regression, but no inversion: the sensitivity
 *   S = R + X is a path-sum matrix, so d_ij = S_ii + S_jj - 2 S_ij is the tree distance
 *   (r + x along the path) and the minimum spanning tree on d is the feeder itself. Noise enters
 *   d additively instead of through cond(R).
 * - "variance": Var-MinST baseline (Deka et al.) on Var(|V_i| - |V_j|); voltages only.
 */
export type TopologyMethod = "likelihood" | "tree-metric" | "laplacian" | "variance";

export interface TopologyOptions {
  readonly method?: TopologyMethod;
  /** Scaled-design condition proxy above which P and Q count as collinear (p-only regression). */
  readonly collinearityLimit?: number;
  /** Robust row screening: drop samples whose residual exceeds this many robust sigmas. */
  readonly outlierSigmas?: number;
  /**
   * Loss-correction rounds (default 2): fit LS impedances on the current tree, move each
   * branch's losses r̂ℓ, x̂ℓ into the injections and its |ẑ|²ℓ out of the voltages, re-regress.
   * Removes the DistFlow-vs-LinDistFlow bias that limits the plain read-out on AC data.
   */
  readonly lossCorrection?: number;
  /** Tree metric: pool the diagonal with consistent row entries (default true). */
  readonly pooledDiagonal?: boolean;
  /** Likelihood search: maximum passes over the buses per loss-correction round. */
  readonly maxSweeps?: number;
  /** Likelihood search: also start from Var-MinST and a star in the first round, keep the best (default true). */
  readonly multiStart?: boolean;
}

type LossCorrection = SeriesCorrection;

export interface TopologyEstimate {
  readonly method: TopologyMethod;
  /** parent[j] = parent bus index, -1 at the root. */
  readonly parent: Int32Array;
  /** Per bus j != root: score of the chosen edge into j (tree distance r+x in pu, Laplacian weight, or variance). */
  readonly edgeScore: Float64Array;
  /** Regression design: "pq" (R and X separately) or "p" (effective M = R + XK). */
  readonly design: "pq" | "p" | "none";
  /** Condition proxy of the scaled regression design. */
  readonly condition: number;
  /** Samples used after screening. */
  readonly samplesUsed: number;
  /** "likelihood": the tree-metric tree the search started from. */
  readonly initialParent?: Int32Array;
}

interface Sensitivity {
  /** n x n row-major over non-root buses: S[j][k] = d v_j / d(-injection_k) / 2 (pu). */
  readonly S: Float64Array;
  /** Inverse-variance weights of S entries (for weighted symmetrisation). */
  readonly W: Float64Array;
  readonly design: "pq" | "p";
  readonly condition: number;
  readonly samplesUsed: number;
  /** Samples kept by the robust screening. */
  readonly rows: Int32Array;
}

/** Column-centres and scales a design column in place; returns the scale (0 if constant). */
function centreScale(col: Float64Array): { mean: number; scale: number } {
  let mean = 0;
  for (let t = 0; t < col.length; t++) mean += col[t]!;
  mean /= col.length;
  let ss = 0;
  for (let t = 0; t < col.length; t++) {
    col[t] = col[t]! - mean;
    ss += col[t]! * col[t]!;
  }
  const scale = Math.sqrt(ss);
  if (scale > 0) for (let t = 0; t < col.length; t++) col[t] = col[t]! / scale;
  return { mean, scale };
}

function median(a: Float64Array): number {
  const s = Float64Array.from(a).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Multi-output regression of v_j - v_0 (squared magnitudes) on [-p, -q] (centred: the intercept
 * is implicit), with one robust re-fit after dropping gross-error rows.
 */
function estimateSensitivity(data: MeterSeries, opts: TopologyOptions, corr?: LossCorrection): Sensitivity {
  const buses = [...data.busNames.keys()].filter((b) => b !== data.root);
  const n = buses.length;
  const T = data.samples;
  const v0 = interpolateMissing(data.vm[data.root]!);
  const Y0: Float64Array[] = buses.map((b) => {
    const v = interpolateMissing(data.vm[b]!);
    const y = new Float64Array(T);
    const dv = corr?.dv[b];
    for (let t = 0; t < T; t++) y[t] = v[t]! * v[t]! - v0[t]! * v0[t]! - (dv ? dv[t]! : 0);
    return y;
  });
  const withCorr = (s: Float64Array, d: Float64Array | undefined) => {
    if (d) for (let t = 0; t < T; t++) s[t] = s[t]! + d[t]!;
    return s;
  };
  const P = buses.map((b) => interpolateMissing(data.p[b]!));
  const Q = buses.map((b) => interpolateMissing(data.q[b]!));
  buses.forEach((b, m) => {
    if (Y0[m]!.some(Number.isNaN)) {
      throw new MeterDataError(
        `bus ${data.busNames[b]} has no voltage reading at all: hidden (unmetered) buses are not supported, meter every bus`,
      );
    }
    if (P[m]!.some(Number.isNaN) || Q[m]!.some(Number.isNaN)) {
      throw new MeterDataError(`bus ${data.busNames[b]} has no p/q reading at all`);
    }
  });
  // Buses whose injection never varies (unloaded junctions) cannot be regressors: their
  // sensitivity columns are filled in from the rows afterwards (see fillUnloaded).
  const varies = (x: Float64Array) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let t = 0; t < T; t++) {
      lo = Math.min(lo, x[t]!);
      hi = Math.max(hi, x[t]!);
    }
    return hi - lo > 1e-12 * Math.max(1, Math.abs(hi));
  };
  // Activity is judged on the measured injections: the loss terms r̂ℓ, x̂ℓ of an unloaded bus
  // are exactly collinear and would wreck the P/Q design. Their losses are left out (second order).
  const activeP = buses.map((_, m) => varies(P[m]!));
  const activeQ = buses.map((_, m) => varies(Q[m]!));
  buses.forEach((b, m) => {
    if (activeP[m]) withCorr(P[m]!, corr?.dp[b]);
    if (activeQ[m]) withCorr(Q[m]!, corr?.dq[b]);
  });
  let rows = Int32Array.from({ length: T }, (_, t) => t);
  let usePq = true;
  let last: Sensitivity | undefined;
  for (let pass = 0; pass < 2; pass++) {
    const fit = (pq: boolean) => {
      // Active buses: p varies (and q, in the P/Q design). Columns: p of active, then q of active.
      const active = buses.map((_, m) => m).filter((m) => activeP[m] && (!pq || activeQ[m]));
      const na = active.length;
      const k = pq ? 2 * na : na;
      const R = rows.length;
      if (na === 0) throw new MeterDataError("no bus load varies: stage 1 has nothing to regress on");
      if (R < k + 2) throw new MeterDataError(`stage 1 needs more than ${k + 1} samples, have ${R}`);
      const A = new Float64Array(R * k);
      const scales = new Float64Array(k);
      for (let c = 0; c < k; c++) {
        const col = A.subarray(c * R, (c + 1) * R);
        const src = c < na ? P[active[c]!]! : Q[active[c - na]!]!;
        for (let r = 0; r < R; r++) col[r] = -src[rows[r]!]!;
        scales[c] = centreScale(col).scale;
        if (scales[c] === 0) throw new SingularMatrixError(`regressor ${c} is constant`);
      }
      const Aorig = Float64Array.from(A);
      const Y = new Float64Array(R * n);
      for (let j = 0; j < n; j++) {
        const src = Y0[j]!;
        let mean = 0;
        for (let r = 0; r < R; r++) mean += src[rows[r]!]!;
        mean /= R;
        for (let r = 0; r < R; r++) Y[j * R + r] = src[rows[r]!]! - mean;
      }
      const Yorig = Float64Array.from(Y);
      const ls = qrLeastSquares(A, R, k, Y, n);
      return { ls, k, R, Aorig, Yorig, scales, active };
    };
    let f: ReturnType<typeof fit>;
    if (usePq) {
      try {
        f = fit(true);
        if (f.ls.condEstimate > (opts.collinearityLimit ?? 1e3)) {
          usePq = false;
          f = fit(false);
        }
      } catch (err) {
        if (!(err instanceof SingularMatrixError)) throw err;
        usePq = false;
        f = fit(false);
      }
    } else {
      f = fit(false);
    }
    const { ls, k, R, scales, active } = f;
    const na = active.length;
    const S = new Float64Array(n * n).fill(Number.NaN);
    const W = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const sigma2 = ls.rss[j]! / Math.max(1, R - k - 1);
      for (let c = 0; c < na; c++) {
        const m = active[c]!;
        // Coefficient on -p_m (and -q_m) is 2R_jm (2X_jm); S = R + X.
        let s = ls.beta[j * k + c]! / scales[c]!;
        let v = (sigma2 * ls.diagInv[c]!) / scales[c]! ** 2;
        if (usePq) {
          s += ls.beta[j * k + na + c]! / scales[na + c]!;
          v += (sigma2 * ls.diagInv[na + c]!) / scales[na + c]! ** 2;
        }
        S[j * n + m] = s / 2;
        W[j * n + m] = v > 0 ? 4 / v : 1e30;
      }
    }
    fillUnloaded(S, W, n, active);
    last = { S, W, design: usePq ? "pq" : "p", condition: ls.condEstimate, samplesUsed: R, rows };
    if (pass === 1) break;
    // Robust screening: residual of every output on every kept row.
    const resid = new Float64Array(R * n);
    for (let j = 0; j < n; j++) {
      for (let r = 0; r < R; r++) resid[j * R + r] = f.Yorig[j * R + r]!;
      for (let c = 0; c < k; c++) {
        const b = ls.beta[j * k + c]!;
        if (b === 0) continue;
        for (let r = 0; r < R; r++) resid[j * R + r] = resid[j * R + r]! - b * f.Aorig[c * R + r]!;
      }
    }
    const score = new Float64Array(R);
    for (let j = 0; j < n; j++) {
      const col = resid.subarray(j * R, (j + 1) * R);
      const med = median(col);
      const abs = col.map((x) => Math.abs(x - med));
      const sc = 1.4826 * median(abs) || 1e-300;
      for (let r = 0; r < R; r++) score[r] = Math.max(score[r]!, Math.abs(col[r]! - med) / sc);
    }
    const limit = opts.outlierSigmas ?? 6;
    const keep = rows.filter((_, r) => score[r]! <= limit);
    if (keep.length === rows.length || keep.length < rows.length * 0.8) break;
    rows = keep;
  }
  return last!;
}

/**
 * Columns of buses without load variation are unknown. By symmetry S_jm = S_mj where bus j is a
 * regressor; when neither is (two unloaded buses) S_mj = depth of their common ancestor =
 * max over loaded probes k of min(S_mk, S_jk).
 */
function fillUnloaded(S: Float64Array, W: Float64Array, n: number, active: readonly number[]): void {
  if (active.length === n) return;
  const isActive = new Uint8Array(n);
  for (const m of active) isActive[m] = 1;
  for (let m = 0; m < n; m++) {
    if (isActive[m]) continue;
    for (let j = 0; j < n; j++) {
      if (isActive[j]) {
        S[j * n + m] = S[m * n + j]!;
        W[j * n + m] = 0; // carries no information of its own
        continue;
      }
      let best = -Infinity;
      for (const k of active) best = Math.max(best, Math.min(S[m * n + k]!, S[j * n + k]!));
      S[j * n + m] = best;
      W[j * n + m] = 1;
    }
  }
}

/** Symmetric tree-metric estimate from the sensitivity (inverse-variance weighted symmetrisation). */
function treeMetric(sens: Sensitivity, n: number, pooledDiagonal: boolean): (i: number, j: number) => number {
  const { S, W } = sens;
  // Diagonal S_mm (path impedance to the root) from the bus's own load is noisy for lightly
  // loaded buses. S_mk = S_mm for every descendant k, and those row entries come from large
  // loads: pool the best row entry when it is consistent (within 2 σ of the direct estimate).
  const diag = new Float64Array(n);
  for (let m = 0; m < n; m++) {
    const direct = S[m * n + m]!;
    const wd = W[m * n + m]!;
    diag[m] = direct;
    if (!pooledDiagonal || !(wd > 0)) continue;
    let best = -1;
    for (let k = 0; k < n; k++) {
      if (k === m || !(W[m * n + k]! > 0)) continue;
      if (best < 0 || S[m * n + k]! > S[m * n + best]!) best = k;
    }
    if (best < 0) continue;
    const rowMax = S[m * n + best]!;
    const wr = W[m * n + best]!;
    if (rowMax > direct - 2 / Math.sqrt(wd)) diag[m] = (direct * wd + rowMax * wr) / (wd + wr);
  }
  return (i, j) => {
    // Index n is the root (distance to root = S_jj).
    if (i === n) return diag[j]!;
    if (j === n) return diag[i]!;
    const wij = W[i * n + j]!;
    const wji = W[j * n + i]!;
    const sij = wij + wji > 0 ? (S[i * n + j]! * wij + S[j * n + i]! * wji) / (wij + wji) : S[i * n + j]!;
    return diag[i]! + diag[j]! - 2 * sij;
  };
}

/** Laplacian weights from the inverse of the (unsymmetrised) sensitivity, spec §2.2. */
function laplacianWeights(sens: Sensitivity, n: number): (i: number, j: number) => number {
  const L = invert(sens.S, n);
  const rowSum = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) rowSum[i] = rowSum[i]! + L[i * n + k]!;
  return (i, j) => {
    if (i === n) return Math.max(0, rowSum[j]!);
    if (j === n) return Math.max(0, rowSum[i]!);
    return Math.max(0, -0.5 * (L[i * n + j]! + L[j * n + i]!));
  };
}

/** Var-MinST distances Var(|V_i| - |V_j|); root uses the substation voltage. */
function varianceDistance(data: MeterSeries, buses: number[]): (i: number, j: number) => number {
  const T = data.samples;
  const series = [...buses, data.root].map((b) => interpolateMissing(data.vm[b]!));
  return (i, j) => {
    const a = series[i]!;
    const b = series[j]!;
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < T; t++) {
      const d = a[t]! - b[t]!;
      s += d;
      s2 += d * d;
    }
    return s2 / T - (s / T) ** 2;
  };
}

/** Spanning-tree read-out over the non-root buses plus the root (local index n). */
function readOut(
  data: MeterSeries,
  buses: number[],
  cost: (i: number, j: number) => number,
  maximize: boolean,
): { parent: Int32Array; edgeScore: Float64Array } {
  const n = buses.length;
  const local = primTree(n + 1, n, cost, maximize);
  const parent = new Int32Array(data.busNames.length).fill(-1);
  const edgeScore = new Float64Array(data.busNames.length).fill(Number.NaN);
  const toBus = (l: number) => (l === n ? data.root : buses[l]!);
  for (let l = 0; l < n; l++) {
    parent[buses[l]!] = toBus(local[l]!);
    edgeScore[buses[l]!] = cost(local[l]!, l);
  }
  return { parent, edgeScore };
}

/** Recovers the radial topology (rooted at data.root) from smart-meter series. */
export function identifyTopology(data: MeterSeries, opts: TopologyOptions = {}): TopologyEstimate {
  checkMeterSeries(data);
  const method = opts.method ?? "likelihood";
  const buses = [...data.busNames.keys()].filter((b) => b !== data.root);
  const n = buses.length;
  let cost: (i: number, j: number) => number;
  let maximize = false;
  let design: TopologyEstimate["design"] = "none";
  let condition = Number.NaN;
  let samplesUsed = data.samples;
  let rows: Int32Array | undefined;
  if (method === "variance") {
    cost = varianceDistance(data, buses);
  } else {
    let corr: LossCorrection | undefined;
    const rounds = opts.lossCorrection ?? 2;
    for (let round = 0; ; round++) {
      const sens = estimateSensitivity(data, opts, corr);
      design = sens.design;
      condition = sens.condition;
      samplesUsed = sens.samplesUsed;
      rows = sens.rows;
      if (method === "laplacian") {
        cost = laplacianWeights(sens, n);
        maximize = true;
      } else {
        // Pooling needs the symmetric path-sum S = R + X (the P/Q design), not R + XK.
        cost = treeMetric(sens, n, (opts.pooledDiagonal ?? true) && sens.design === "pq");
      }
      if (round >= rounds) break;
      const tree = readOut(data, buses, cost, maximize).parent;
      const next = lossCorrection(data, tree);
      if (!next) break;
      corr = next;
    }
  }
  const { parent, edgeScore } = readOut(data, buses, cost, maximize);
  if (method === "likelihood") {
    // Local search on the tree likelihood from the tree-metric estimate, re-correcting losses on the new tree.
    let tree = parent;
    for (let round = 0; round < Math.max(1, opts.lossCorrection ?? 2); round++) {
      const correction = (opts.lossCorrection ?? 2) > 0 ? lossCorrection(data, tree) : undefined;
      // First round: also descend from the Var-MinST tree and from a star (all buses on the substation); on the
      // 69-bus feeder the tree-metric start can sit in a worse basin than either (measured, issue 6).
      const extraStarts =
        round === 0 && (opts.multiStart ?? true)
          ? [
              readOut(data, buses, varianceDistance(data, buses), false).parent,
              Int32Array.from(data.busNames, (_, j) => (j === data.root ? -1 : data.root)),
            ]
          : [];
      const res = searchTree(data, tree, {
        extraStarts,
        ...(correction ? { correction } : {}),
        ...(rows && rows.length < data.samples ? { rows } : {}),
        maxSweeps: opts.maxSweeps ?? 30,
      });
      const same = res.moves === 0;
      tree = res.parent;
      if (same) break;
    }
    // Edge scores stay the tree-metric distances (r + x along the edge), now of the searched tree's edges.
    const local = new Int32Array(data.busNames.length).fill(n);
    buses.forEach((b, l) => {
      local[b] = l;
    });
    const scores = new Float64Array(data.busNames.length).fill(Number.NaN);
    for (const b of buses) scores[b] = cost(local[tree[b]!]!, local[b]!);
    return { method, parent: tree, edgeScore: scores, design, condition, samplesUsed, initialParent: parent };
  }
  return { method, parent, edgeScore, design, condition, samplesUsed };
}
