import { CholeskyDecomposition, inverse, Matrix } from "ml-matrix";
import { type SeriesCorrection, type SeriesGram, seriesGram } from "./gram.js";
import { checkMeterSeries, interpolateMissing, MeterDataError, type MeterSeries } from "./meter-data.js";
import { primTree } from "./tree.js";
import { lossCorrection, searchTree } from "./tree-search.js";

/** The regression design is singular (a regressor without variation, or linearly dependent regressors). */
export class SingularMatrixError extends Error {
  override readonly name = "SingularMatrixError";
}

/**
 * Stage 1 read-outs (derivations in docs/identification.md):
 * - "likelihood" (default): the tree-metric tree below as the start of a local search on the Gaussian
 *   likelihood of the voltages given a tree (branch fits r, x >= 0 on subtree flows, loss-corrected, path-summed
 *   residuals; see tree-search.ts). Uses the mean voltage drops and every branch's full flow, not only n² noisy
 *   sensitivities: exact on the 37-bus feeder at 0.1 %-class meters from ~5–10k samples.
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
  /** Called after each search sweep / regression round with a short description of the step. */
  readonly onProgress?: (step: string) => void;
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
  /**
   * Likelihood search: start from this tree instead of the tree-metric estimate (and without the extra starts),
   * e.g. to refine a tree found before bad readings were removed.
   */
  readonly startParent?: Int32Array;
  /** Likelihood search: prior against zero-impedance placements of zero-injection buses (see TreeSearchOptions). */
  readonly zeroInjectionPrior?: number;
}

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
  /** Samples used. */
  readonly samplesUsed: number;
  /** "likelihood": the tree-metric tree the search started from. */
  readonly initialParent?: Int32Array;
  /**
   * "likelihood": per bus, the increase of the generalised residual sum of squares of the best tree without the
   * chosen edge into the bus (NaN at the root). Divided by 2 × residualVariance it is a log-likelihood ratio.
   */
  readonly margin?: Float64Array;
  /** "likelihood": residual variance per bus and sample of the fitted voltages (pu², in v = |V|²). */
  readonly residualVariance?: number;
}

interface Sensitivity {
  /** n x n row-major over non-root buses: S[j][k] = d v_j / d(-injection_k) / 2 (pu). */
  readonly S: Float64Array;
  /** Inverse-variance weights of S entries (for weighted symmetrisation). */
  readonly W: Float64Array;
  readonly design: "pq" | "p";
  readonly condition: number;
  readonly samplesUsed: number;
}

/**
 * Multi-output regression of w_j = v_j − v_0 (squared magnitudes, loss-corrected) on the injections −p, −q of the
 * buses whose load varies, with an implicit intercept (centred series), solved from the Gram matrix of the series:
 * the normal equations of the column-scaled design by Cholesky (ml-matrix). The condition proxy is the ratio of the
 * largest to the smallest diagonal of the Cholesky factor — the same numbers as |R_ii| of a QR of the design.
 */
function estimateSensitivity(data: MeterSeries, opts: TopologyOptions, gram: SeriesGram): Sensitivity {
  const buses = [...data.busNames.keys()].filter((b) => b !== data.root);
  const n = buses.length;
  const N = data.busNames.length;
  const K = 3 * N;
  const T = gram.samples;
  const { G, mean, range } = gram;
  // Centred cross products of basis series a, b.
  const C = (a: number, b: number) => G[a * K + b]! - T * mean[a]! * mean[b]!;
  const varies = (col: number) => range[col]! > 1e-12 * Math.max(1, Math.abs(mean[col]!));
  // Activity is judged on the measured injections: the loss terms of an unloaded bus are exactly collinear with
  // its children's and would wreck the P/Q design; their columns are filled in from the rows (fillUnloaded).
  const activeP = buses.map((b) => varies(N + b));
  const activeQ = buses.map((b) => varies(2 * N + b));
  const fit = (pq: boolean) => {
    const active = buses.map((_, m) => m).filter((m) => activeP[m] && (!pq || activeQ[m]));
    const na = active.length;
    const k = pq ? 2 * na : na;
    if (na === 0) throw new MeterDataError("no bus load varies: stage 1 has nothing to regress on");
    if (T < k + 2) throw new MeterDataError(`stage 1 needs more than ${k + 1} samples, have ${T}`);
    const col = (c: number) => (c < na ? N + buses[active[c]!]! : 2 * N + buses[active[c - na]!]!);
    const scales = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      scales[c] = Math.sqrt(Math.max(0, C(col(c), col(c))));
      if (!(scales[c]! > 0)) throw new SingularMatrixError(`regressor ${c} is constant`);
    }
    // Design columns are −p, −q: the signs cancel in Z'Z and flip Z'Y.
    const ZZ = new Matrix(k, k);
    for (let a = 0; a < k; a++)
      for (let b = a; b < k; b++) {
        const v = C(col(a), col(b)) / (scales[a]! * scales[b]!);
        ZZ.set(a, b, v);
        ZZ.set(b, a, v);
      }
    const ZY = new Matrix(k, n);
    for (let a = 0; a < k; a++) for (let j = 0; j < n; j++) ZY.set(a, j, -C(col(a), buses[j]!) / scales[a]!);
    const chol = new CholeskyDecomposition(ZZ);
    if (!chol.isPositiveDefinite())
      throw new SingularMatrixError("regressors are linearly dependent (rank deficient design)");
    const Lc = chol.lowerTriangularMatrix;
    let maxD = 0;
    let minD = Infinity;
    for (let c = 0; c < k; c++) {
      maxD = Math.max(maxD, Lc.get(c, c));
      minD = Math.min(minD, Lc.get(c, c));
    }
    if (minD <= maxD * 1e-7)
      throw new SingularMatrixError("regressors are linearly dependent (rank deficient design)");
    const beta = chol.solve(ZY);
    const diagInv = chol.solve(Matrix.eye(k, k)).diagonal();
    const rss = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let explained = 0;
      for (let a = 0; a < k; a++) explained += beta.get(a, j) * ZY.get(a, j);
      rss[j] = Math.max(0, C(buses[j]!, buses[j]!) - explained);
    }
    return { beta, rss, diagInv, condEstimate: maxD / minD, k, scales, active };
  };
  let f: ReturnType<typeof fit>;
  let usePq = true;
  try {
    f = fit(true);
    if (f.condEstimate > (opts.collinearityLimit ?? 1e3)) {
      usePq = false;
      f = fit(false);
    }
  } catch (err) {
    if (!(err instanceof SingularMatrixError)) throw err;
    usePq = false;
    f = fit(false);
  }
  const { beta, rss, diagInv, k, scales, active } = f;
  const na = active.length;
  const S = new Float64Array(n * n).fill(Number.NaN);
  const W = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const sigma2 = rss[j]! / Math.max(1, T - k - 1);
    for (let c = 0; c < na; c++) {
      const m = active[c]!;
      // Coefficient on -p_m (and -q_m) is 2R_jm (2X_jm); S = R + X.
      let s = beta.get(c, j) / scales[c]!;
      let v = (sigma2 * diagInv[c]!) / scales[c]! ** 2;
      if (usePq) {
        s += beta.get(na + c, j) / scales[na + c]!;
        v += (sigma2 * diagInv[na + c]!) / scales[na + c]! ** 2;
      }
      S[j * n + m] = s / 2;
      W[j * n + m] = v > 0 ? 4 / v : 1e30;
    }
  }
  fillUnloaded(S, W, n, active);
  return { S, W, design: usePq ? "pq" : "p", condition: f.condEstimate, samplesUsed: T };
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

/** Laplacian weights from the inverse of the (unsymmetrised) sensitivity. */
function laplacianWeights(sens: Sensitivity, n: number): (i: number, j: number) => number {
  const M = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) M.set(i, k, sens.S[i * n + k]!);
  let inv: Matrix;
  try {
    inv = inverse(M);
  } catch {
    throw new SingularMatrixError("the sensitivity matrix is singular");
  }
  const L = Float64Array.from(inv.to1DArray());
  if (!L.every(Number.isFinite)) throw new SingularMatrixError("the sensitivity matrix is singular");
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
  const progress = opts.onProgress;
  const start = method === "likelihood" ? opts.startParent : undefined;
  if (start && start.length !== data.busNames.length)
    throw new MeterDataError(`startParent has ${start.length} entries for ${data.busNames.length} buses`);
  // The last regression round's correction, its tree and Gram matrix: when the read-out below gives the same tree,
  // the likelihood search's first correction is this one again and its Gram matrix need not be formed twice.
  let lastRound: { tree: Int32Array; corr: SeriesCorrection; gram: SeriesGram } | undefined;
  if (method === "variance" || start) {
    cost = varianceDistance(data, buses);
  } else {
    let corr: SeriesCorrection | undefined;
    let corrTree: Int32Array | undefined;
    const rounds = opts.lossCorrection ?? 2;
    for (let round = 0; ; round++) {
      const gram = seriesGram(data, corr);
      if (corr && corrTree) lastRound = { tree: corrTree, corr, gram };
      const sens = estimateSensitivity(data, opts, gram);
      progress?.(`regression round ${round + 1}`);
      design = sens.design;
      condition = sens.condition;
      samplesUsed = sens.samplesUsed;
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
      corrTree = tree;
    }
  }
  const { parent, edgeScore } = start
    ? { parent: start, edgeScore: new Float64Array(0) }
    : readOut(data, buses, cost, maximize);
  if (method === "likelihood") {
    // Local search on the tree likelihood from the tree-metric estimate, re-correcting losses on the new tree.
    let tree = parent;
    let last: { readonly margin: Float64Array } | undefined;
    let residualVariance: number | undefined;
    for (let round = 0; round < Math.max(1, opts.lossCorrection ?? 2); round++) {
      const reuse =
        round === 0 && lastRound && lastRound.tree.every((p, j) => p === tree[j]) ? lastRound : undefined;
      const correction = reuse
        ? reuse.corr
        : (opts.lossCorrection ?? 2) > 0
          ? lossCorrection(data, tree)
          : undefined;
      // First round: also descend from the Var-MinST tree and from a star (all buses on the substation); on the
      // 69-bus feeder the tree-metric start can sit in a worse basin than either.
      const extraStarts =
        round === 0 && !start && (opts.multiStart ?? true)
          ? [
              readOut(data, buses, varianceDistance(data, buses), false).parent,
              Int32Array.from(data.busNames, (_, j) => (j === data.root ? -1 : data.root)),
            ]
          : [];
      const res = searchTree(data, tree, {
        extraStarts,
        ...(correction ? { correction } : {}),
        ...(reuse ? { gram: reuse.gram } : {}),
        maxSweeps: opts.maxSweeps ?? 30,
        ...(opts.zeroInjectionPrior !== undefined ? { zeroInjectionPrior: opts.zeroInjectionPrior } : {}),
      });
      progress?.(`tree search round ${round + 1}: ${res.moves} moves`);
      const same = res.moves === 0;
      tree = res.parent;
      last = res; // margins are computed on first read, for the last round only
      residualVariance = res.residualVariance;
      if (same) break;
    }
    // Edge scores stay the tree-metric distances (r + x along the edge), now of the searched tree's edges.
    const local = new Int32Array(data.busNames.length).fill(n);
    buses.forEach((b, l) => {
      local[b] = l;
    });
    const scores = new Float64Array(data.busNames.length).fill(Number.NaN);
    if (!start) for (const b of buses) scores[b] = cost(local[tree[b]!]!, local[b]!);
    const result: TopologyEstimate = {
      method,
      parent: tree,
      edgeScore: scores,
      design,
      condition,
      samplesUsed,
      initialParent: parent,
      ...(residualVariance !== undefined ? { residualVariance } : {}),
    };
    // Margins on first read (an estimate replaced after the bad-data step never needs them).
    const search = last;
    if (search) Object.defineProperty(result, "margin", { enumerable: true, get: () => search.margin });
    return result;
  }
  return { method, parent, edgeScore, design, condition, samplesUsed };
}
