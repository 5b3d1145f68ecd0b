import { interpolateMissing, MeterDataError, type MeterSeries } from "./meter-data.js";
import { type BranchEstimate, identifyImpedances } from "./sweep.js";
import { TopologyError } from "./tree.js";

/**
 * Topology refinement by local search on a tree likelihood (issue 6).
 *
 * For a candidate tree, every branch e gets the LinDistFlow branch fit (after loss correction)
 *   w_π(e) − w_e = 2 r_e P_e + 2 x_e Q_e + residual_e,   P_e, Q_e = sums of the loads in the subtree of e,
 * with w_k = v_k − v_0 (squared magnitudes), no intercept (the mean drop is information). With meter noise n_k on
 * each bus, the true tree's cumulative residual along the root path of bus k is n_k − n_0, so the Gaussian
 * log-likelihood of the voltages is (up to constants) the generalised sum of squares
 *   score = Σ_k ‖U_k‖² − ‖Σ_k U_k‖² / (n + 1),   U_k = Σ_{e ∈ path(k)} residual_e
 * (the second term whitens the substation noise shared by every U_k). Summing edge residuals instead counts a
 * bus's noise once per incident edge and rewards hubs with quiet meters; the path form counts it once.
 *
 * Every series involved is a linear combination of the per-bus series w_k, p_k, q_k, so the score depends on the
 * data only through their K × K Gram matrix (K = 3N): each candidate tree costs O(N·K), independent of T.
 * Moves (best improvement per bus, repeated until none improves): regraft the subtree of j under any bus;
 * move bus j alone (its children go to its parent) to any bus, as a leaf or inserted into an edge; insert the
 * subtree of j into an edge; exchange the parents of j and k; swap j with its parent.
 */

export interface TreeSearchOptions {
  /** Maximum passes over all buses per loss-correction round (default 30). */
  readonly maxSweeps?: number;
  /**
   * Buses considered as new neighbours of j: the `neighbours` closest to j in Σ_t (w_i − w_j)² (default 20;
   * 0 = all). Parents, children and siblings have the closest voltage series; this keeps a pass O(N²·K).
   */
  readonly neighbours?: number;
  /**
   * Further start trees: the search descends from each (sharing the Gram matrix) and keeps the lowest score. The
   * 69-bus feeder has basins a single start cannot leave (e.g. restructured head junctions).
   */
  readonly extraStarts?: readonly Int32Array[];
  /** Use only these samples (e.g. after robust screening of gross meter errors); default all. */
  readonly rows?: Int32Array;
  /** Constrain every branch fit to r, x ≥ 0 (default true). */
  readonly nonNegative?: boolean;
}

export interface TreeSearchResult {
  readonly parent: Int32Array;
  /** Generalised residual sum of squares of the returned tree (pu², summed over samples). */
  readonly score: number;
  /** Score of parent0. */
  readonly initialScore: number;
  /** Accepted moves. */
  readonly moves: number;
  readonly sweeps: number;
  /** Which start gave the result: 0 = parent0, k = extraStarts[k − 1]. */
  readonly startIndex: number;
}

/** Per-sample additive corrections on a tree (from stage 2 with LS): losses into p/q, Σ|z|²ℓ out of v − v0. */
export interface SeriesCorrection {
  readonly dp: readonly Float64Array[];
  readonly dq: readonly Float64Array[];
  readonly dv: readonly Float64Array[];
}

/** Loss corrections on a candidate tree from a fast LS stage-2 pass; undefined if the pass fails. */
export function lossCorrection(data: MeterSeries, parent: Int32Array): SeriesCorrection | undefined {
  let est: BranchEstimate[];
  try {
    est = identifyImpedances(data, parent, { method: "ls", keepCurrents: true, minSamples: 3 });
  } catch {
    return undefined;
  }
  const N = data.busNames.length;
  const T = data.samples;
  const dp = Array.from({ length: N }, () => new Float64Array(T));
  const dq = Array.from({ length: N }, () => new Float64Array(T));
  const dv = Array.from({ length: N }, () => new Float64Array(T));
  // est is in BFS order (parents before children): accumulate Σ|z|²ℓ down the root paths.
  for (const e of est) {
    const l = e.l!;
    if (!Number.isFinite(e.r) || !Number.isFinite(e.x)) continue; // flow-free branch: no losses
    const z2 = e.r * e.r + e.x * e.x;
    const up = dv[e.parent]!;
    const own = dv[e.bus]!;
    for (let t = 0; t < T; t++) {
      dp[e.bus]![t] = e.r * l[t]!;
      dq[e.bus]![t] = e.x * l[t]!;
      own[t] = up[t]! + z2 * l[t]!;
    }
  }
  return { dp, dq, dv };
}

/** Gram matrix of the basis [w_0..w_{N-1}, p_0..p_{N-1}, q_0..q_{N-1}] (row-major K × K). */
export function basisGram(
  data: MeterSeries,
  corr: SeriesCorrection | undefined,
  rows?: Int32Array,
): Float64Array {
  const N = data.busNames.length;
  const T = data.samples;
  const K = 3 * N;
  const v0 = interpolateMissing(data.vm[data.root]!);
  const basis: Float64Array[] = [];
  for (let k = 0; k < N; k++) {
    const w = new Float64Array(T);
    if (k !== data.root) {
      const vk = interpolateMissing(data.vm[k]!);
      if (Number.isNaN(vk[0]!))
        throw new MeterDataError(`bus ${data.busNames[k]} has no voltage reading at all`);
      const dv = corr?.dv[k];
      for (let t = 0; t < T; t++) w[t] = vk[t]! * vk[t]! - v0[t]! * v0[t]! - (dv ? dv[t]! : 0);
    }
    basis.push(w);
  }
  for (const [src, d] of [
    [data.p, corr?.dp],
    [data.q, corr?.dq],
  ] as const) {
    for (let k = 0; k < N; k++) {
      const s = interpolateMissing(src[k]!);
      if (Number.isNaN(s[0]!)) throw new MeterDataError(`bus ${data.busNames[k]} has no p/q reading at all`);
      const dk = d?.[k];
      if (dk) for (let t = 0; t < T; t++) s[t] = s[t]! + dk[t]!;
      if (k === data.root) s.fill(0); // the substation's own series is not a load
      basis.push(s);
    }
  }
  if (rows) {
    // Compact every basis series to the kept samples.
    for (const x of basis) for (let r = 0; r < rows.length; r++) x[r] = x[rows[r]!]!;
  }
  const len = rows ? rows.length : T;
  const G = new Float64Array(K * K);
  for (let a = 0; a < K; a++) {
    const x = basis[a]!;
    for (let b = a; b < K; b++) {
      const y = basis[b]!;
      let s = 0;
      for (let t = 0; t < len; t++) s += x[t]! * y[t]!;
      G[a * K + b] = s;
      G[b * K + a] = s;
    }
  }
  return G;
}

/** Scores candidate trees from the Gram matrix; owns all scratch memory (no allocation per candidate). */
class TreeScorer {
  private readonly K: number;
  private readonly order: Int32Array;
  private readonly kids: Int32Array; // first-child / next-sibling lists
  private readonly next: Int32Array;
  private readonly Ga: Float64Array; // per bus: G · a_k (a_k = indicator of the p basis over the subtree)
  private readonly Gb: Float64Array;
  private readonly U: Float64Array; // per bus: coefficients of U_k
  private readonly GU: Float64Array;
  private readonly sumU: Float64Array;
  private readonly sumGU: Float64Array;
  private readonly subStart: Int32Array; // subtree of k = post-order slice
  private readonly post: Int32Array;
  private readonly beta1: Float64Array;
  private readonly beta2: Float64Array;

  constructor(
    private readonly G: Float64Array,
    private readonly N: number,
    private readonly root: number,
    private readonly nonNegative: boolean,
  ) {
    const K = 3 * N;
    this.K = K;
    this.order = new Int32Array(N);
    this.kids = new Int32Array(N);
    this.next = new Int32Array(N);
    this.Ga = new Float64Array(N * K);
    this.Gb = new Float64Array(N * K);
    this.U = new Float64Array(N * K);
    this.GU = new Float64Array(N * K);
    this.sumU = new Float64Array(K);
    this.sumGU = new Float64Array(K);
    this.subStart = new Int32Array(N);
    this.post = new Int32Array(N);
    this.beta1 = new Float64Array(N);
    this.beta2 = new Float64Array(N);
  }

  /** Generalised RSS of the tree; Infinity if parent is not a tree rooted at root. */
  score(parent: Int32Array): number {
    const { N, K, G, root, order, kids, next, Ga, Gb, U, GU, sumU, sumGU, post, subStart } = this;
    kids.fill(-1);
    for (let j = N - 1; j >= 0; j--) {
      if (j === root) continue;
      const p = parent[j]!;
      if (p < 0 || p >= N || p === j) return Number.POSITIVE_INFINITY;
      next[j] = kids[p]!;
      kids[p] = j;
    }
    let tail = 0;
    order[tail++] = root;
    for (let h = 0; h < tail; h++) for (let c = kids[order[h]!]!; c >= 0; c = next[c]!) order[tail++] = c;
    if (tail !== N) return Number.POSITIVE_INFINITY; // a cycle: some buses unreachable
    // Post-order positions: subtree of k = post[subStart[k] .. pos(k)].
    let pc = 0;
    const visit = (k: number): void => {
      subStart[k] = pc;
      for (let c = kids[k]!; c >= 0; c = next[c]!) visit(c);
      post[pc++] = k;
    };
    visit(root);
    // Leaves first: G·a_k, G·b_k accumulate over children; fit each branch.
    for (let h = N - 1; h >= 1; h--) {
      const k = order[h]!;
      const ga = Ga.subarray(k * K, k * K + K);
      const gb = Gb.subarray(k * K, k * K + K);
      const pCol = N + k;
      const qCol = 2 * N + k;
      // G is symmetric: read its rows (contiguous) instead of columns.
      ga.set(G.subarray(pCol * K, pCol * K + K));
      gb.set(G.subarray(qCol * K, qCol * K + K));
      for (let c = kids[k]!; c >= 0; c = next[c]!) {
        const o = c * K;
        for (let m = 0; m < K; m++) {
          ga[m] = ga[m]! + Ga[o + m]!;
          gb[m] = gb[m]! + Gb[o + m]!;
        }
      }
    }
    sumU.fill(0);
    sumGU.fill(0);
    U.fill(0, root * K, root * K + K);
    GU.fill(0, root * K, root * K + K);
    let total = 0;
    for (let h = 1; h < N; h++) {
      const k = order[h]!;
      const i = parent[k]!;
      const o = k * K;
      // Normal equations of y = w_i − w_k on a = Σ p, b = Σ q over the subtree.
      let aa = 0;
      let ab = 0;
      let bb = 0;
      const pos = subStart[k]!;
      let end = pos;
      while (post[end] !== k) end++;
      for (let s = pos; s <= end; s++) {
        const m = post[s]!;
        aa += Ga[o + N + m]!;
        ab += Gb[o + N + m]!;
        bb += Gb[o + 2 * N + m]!;
      }
      const ya = Ga[o + i]! - Ga[o + k]!;
      const yb = Gb[o + i]! - Gb[o + k]!;
      // Non-negative LS (r, x ≥ 0): a negative impedance is how a wrong orientation would fit a voltage rise.
      let b1 = 0;
      let b2 = 0;
      const det = aa * bb - ab * ab;
      if (det > 1e-12 * aa * bb && aa > 0) {
        b1 = (bb * ya - ab * yb) / det;
        b2 = (aa * yb - ab * ya) / det;
      } else if (aa > 0) {
        b1 = ya / aa; // P and Q collinear in this subtree: effective impedance on P
      }
      if (this.nonNegative && (b1 < 0 || b2 < 0)) {
        // Best of the two one-regressor fits on the boundary (or zero): gain = β·c − ½ βᵀAβ.
        const g1 = aa > 0 && ya > 0 ? (ya * ya) / aa : 0;
        const g2 = bb > 0 && yb > 0 ? (yb * yb) / bb : 0;
        if (g1 >= g2) {
          b1 = g1 > 0 ? ya / aa : 0;
          b2 = 0;
        } else {
          b1 = 0;
          b2 = yb / bb;
        }
      }
      this.beta1[k] = b1;
      this.beta2[k] = b2;
      // U_k = U_i + residual_k; residual_k = e_{w_i} − e_{w_k} − b1 a_k − b2 b_k.
      const oi = i * K;
      const gi = i * K;
      const gk = k * K;
      U.copyWithin(o, oi, oi + K);
      for (let m = 0; m < K; m++) {
        GU[o + m] = GU[oi + m]! + G[gi + m]! - G[gk + m]! - b1 * Ga[o + m]! - b2 * Gb[o + m]!;
      }
      U[o + i] = U[o + i]! + 1;
      U[o + k] = U[o + k]! - 1;
      for (let s = pos; s <= end; s++) {
        const m = post[s]!;
        U[o + N + m] = U[o + N + m]! - b1;
        U[o + 2 * N + m] = U[o + 2 * N + m]! - b2;
      }
      let q = 0;
      for (let m = 0; m < K; m++) {
        q += U[o + m]! * GU[o + m]!;
        sumU[m] = sumU[m]! + U[o + m]!;
        sumGU[m] = sumGU[m]! + GU[o + m]!;
      }
      total += q;
    }
    let common = 0;
    for (let m = 0; m < K; m++) common += sumU[m]! * sumGU[m]!;
    return total - common / N;
  }
}

function isAncestor(parent: Int32Array, root: number, a: number, b: number): boolean {
  for (let x = b; x !== root; x = parent[x]!) if (x === a) return true;
  return a === root;
}

/**
 * Local search from `parent0` for the tree with the smallest generalised residual sum of squares.
 * `corrections` (optional, per loss-correction round) are applied to the series before the Gram matrix is formed.
 */
export function searchTree(
  data: MeterSeries,
  parent0: Int32Array,
  opts: TreeSearchOptions & { readonly correction?: SeriesCorrection } = {},
): TreeSearchResult {
  const N = data.busNames.length;
  const root = data.root;
  if (parent0.length !== N)
    throw new TopologyError(`parent array has ${parent0.length} entries for ${N} buses`);
  const G = basisGram(data, opts.correction, opts.rows);
  const scorer = new TreeScorer(G, N, root, opts.nonNegative ?? true);
  const K = 3 * N;
  const M = opts.neighbours ?? 20;
  const near: Uint8Array[] = [];
  for (let j = 0; j < N; j++) {
    const dist = Float64Array.from(
      { length: N },
      (_, i) => G[i * K + i]! + G[j * K + j]! - 2 * G[i * K + j]!,
    );
    const idx = Array.from({ length: N }, (_, i) => i).sort((a, b) => dist[a]! - dist[b]!);
    const mask = new Uint8Array(N);
    for (let r = 0; r < N && (M <= 0 || r <= M); r++) mask[idx[r]!] = 1;
    mask[root] = 1; // the substation is always a candidate
    near.push(mask);
  }
  // Local search from one start tree (best improvement per bus, passes until none improves).
  const descend = (start: Int32Array): TreeSearchResult => {
    const cur = Int32Array.from(start);
    let best = scorer.score(cur);
    if (!Number.isFinite(best)) throw new TopologyError(`start parent array is not a tree rooted at ${root}`);
    const initialScore = best;
    const cand = new Int32Array(N);
    const bestTree = new Int32Array(N);
    const inSub = new Uint8Array(N);
    const maxSweeps = opts.maxSweeps ?? 30;
    let moves = 0;
    let sweeps = 0;
    const tol = 1e-12;
    for (; sweeps < maxSweeps; ) {
      sweeps++;
      let moved = 0;
      for (let j = 0; j < N; j++) {
        if (j === root) continue;
        let found = false;
        let bestScore = best;
        const tryTree = () => {
          const s = scorer.score(cand);
          if (s < bestScore - tol * Math.abs(bestScore)) {
            bestScore = s;
            bestTree.set(cand);
            found = true;
          }
        };
        inSub.fill(0);
        for (let k = 0; k < N; k++) if (k !== root && isAncestor(cur, root, j, k)) inSub[k] = 1;
        inSub[j] = 1;
        const pj = cur[j]!;
        const nearJ = near[j]!;
        for (let i = 0; i < N; i++) {
          if (!nearJ[i]) continue;
          // Subtree regraft under i, and subtree inserted into the edge i -> c.
          if (!inSub[i]) {
            if (i !== pj) {
              cand.set(cur);
              cand[j] = i;
              tryTree();
            }
            for (let c = 0; c < N; c++) {
              if (c === root || cur[c] !== i || inSub[c]) continue;
              cand.set(cur);
              cand[j] = i;
              cand[c] = j;
              tryTree();
              // Exchange: j goes under i (c's parent) and c takes j's old place.
              if (!isAncestor(cur, root, c, pj)) {
                cand.set(cur);
                cand[j] = i;
                cand[c] = pj;
                tryTree();
              }
            }
          }
          // Bus j alone: its children move up to its parent, j becomes a leaf of i or splits an edge i -> c.
          if (i !== j) {
            cand.set(cur);
            for (let c = 0; c < N; c++) if (c !== root && cur[c] === j) cand[c] = pj;
            cand[j] = i;
            const base = Int32Array.from(cand);
            if (i !== pj || cur.some((p, c) => c !== root && p === j)) tryTree();
            for (let c = 0; c < N; c++) {
              if (c === root || c === j || base[c] !== i) continue;
              cand.set(base);
              cand[c] = j;
              tryTree();
            }
          }
        }
        if (pj !== root) {
          // Swap j with its parent a: partial (children stay) and full (children exchanged).
          const a = pj;
          cand.set(cur);
          cand[j] = cur[a]!;
          cand[a] = j;
          tryTree();
          for (let c = 0; c < N; c++) {
            if (c === root) continue;
            if (cur[c] === j) cand[c] = a;
            else if (cur[c] === a && c !== j) cand[c] = j;
          }
          tryTree();
        }
        if (found) {
          cur.set(bestTree);
          best = bestScore;
          moved++;
        }
      }
      moves += moved;
      if (!moved) break;
    }
    return { parent: cur, score: best, initialScore, moves, sweeps, startIndex: 0 };
  };
  let result = descend(parent0);
  (opts.extraStarts ?? []).forEach((start, k) => {
    if (start.length !== N)
      throw new TopologyError(`start ${k + 1} has ${start.length} entries for ${N} buses`);
    const r = descend(start);
    if (r.score < result.score) result = { ...r, initialScore: result.initialScore, startIndex: k + 1 };
  });
  return result;
}
