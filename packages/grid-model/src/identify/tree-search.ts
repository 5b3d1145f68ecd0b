import { type SeriesCorrection, type SeriesGram, seriesGram } from "./gram.js";
import type { MeterSeries } from "./meter-data.js";
import { type BranchEstimate, identifyImpedances } from "./sweep.js";
import { TopologyError } from "./tree.js";
import { TreeScorer } from "./tree-scorer.js";

/**
 * Topology refinement by local search on a tree likelihood.
 *
 * For a candidate tree, every branch e gets the LinDistFlow branch fit (after loss correction)
 *   w_π(e) − w_e = 2 r_e P_e + 2 x_e Q_e + residual_e,   P_e, Q_e = sums of the loads in the subtree of e,
 * with w_k = v_k − v_0 (squared magnitudes), no intercept (the mean drop is information). With meter noise n_k on
 * each bus, the true tree's cumulative residual along the root path of bus k is n_k − n_0, so the Gaussian
 * log-likelihood of the voltages is (up to constants) the generalised sum of squares
 *   score = Σ_k ‖U_k‖² − ‖Σ_k U_k‖² / (n + 1),   U_k = Σ_{e ∈ path(k)} residual_e
 * (the second term whitens the substation noise shared by every U_k). The score depends on the data only through
 * the Gram matrix of the per-bus series (gram.ts); a move is scored incrementally (tree-scorer.ts).
 * Moves (best improvement per bus, repeated until none improves): regraft the subtree of j under any bus;
 * move bus j alone (its children go to its parent) to any bus, as a leaf or inserted into an edge; insert the
 * subtree of j into an edge; exchange the parents of j and k; swap j with its parent.
 * Derivation: docs/identification.md, "The tree likelihood".
 */

export type { SeriesCorrection } from "./gram.js";

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
  /** Use only these samples; default all. */
  readonly rows?: Int32Array;
  /** Constrain every branch fit to r, x ≥ 0 (default true). */
  readonly nonNegative?: boolean;
  /** Loss correction applied to the series before the Gram matrix is formed. */
  readonly correction?: SeriesCorrection;
  /** A Gram matrix already formed for these series (skips forming it again). */
  readonly gram?: SeriesGram;
  /**
   * Log-likelihood units by which the data must favour a zero-injection bus (P = Q = 0 in every reading) sitting
   * between two buses with no drop to its child over the same bus as a leaf (default 5; 0 = no preference).
   */
  readonly zeroInjectionPrior?: number;
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
  /**
   * Per bus: the score increase of the best tree that gives the bus another parent (among the search's moves of
   * that bus), i.e. how much worse the data fit the runner-up; NaN at the root. Small = uncertain edge.
   */
  readonly margin: Float64Array;
  /** Estimated noise variance per bus and sample of the voltage residuals (score / (samples · (N − 1))). */
  readonly residualVariance: number;
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
    const up = dv[e.parent]!;
    const own = dv[e.bus]!;
    if (!Number.isFinite(e.r) || !Number.isFinite(e.x)) {
      // Flow-free branch: no losses of its own, but the bus still sees its parent's upstream loss drops (leaving
      // them out shifts a zero-injection leaf's corrected voltage away from its parent's).
      own.set(up);
      continue;
    }
    const z2 = e.r * e.r + e.x * e.x;
    const dpb = dp[e.bus]!;
    const dqb = dq[e.bus]!;
    for (let t = 0; t < T; t++) {
      dpb[t] = e.r * l[t]!;
      dqb[t] = e.x * l[t]!;
      own[t] = up[t]! + z2 * l[t]!;
    }
  }
  return { dp, dq, dv };
}

/** Records the buses a candidate changes, so the scorer can evaluate the move incrementally. */
class Candidate {
  readonly parent: Int32Array;
  readonly moved: Int32Array;
  readonly scratch: Int32Array;
  count = 0;
  constructor(private readonly cur: Int32Array) {
    this.parent = Int32Array.from(cur);
    this.moved = new Int32Array(cur.length * 2);
    this.scratch = new Int32Array(cur.length * 2);
  }
  set(k: number, p: number): void {
    if (this.parent[k] === p) return;
    this.parent[k] = p;
    this.moved[this.count++] = k;
  }
  /** Back to the current tree. */
  reset(): void {
    for (let a = 0; a < this.count; a++) {
      const k = this.moved[a]!;
      this.parent[k] = this.cur[k]!;
    }
    this.count = 0;
  }
}

function nearestByVoltage(G: Float64Array, N: number, root: number, M: number): Uint8Array[] {
  const K = 3 * N;
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
  return near;
}

/**
 * The bus whose voltage series a flow-free (zero-injection) leaf j matches: argmin over i of Σ_t (w_i − w_j)², read
 * from the Gram matrix of the (loss-corrected) series; −1 if every bus is excluded.
 */
export function matchingParent(
  G: Float64Array,
  N: number,
  j: number,
  exclude: (i: number) => boolean,
): number {
  const K = 3 * N;
  let best = -1;
  let bestDist = Number.POSITIVE_INFINITY;
  for (let i = 0; i < N; i++) {
    if (exclude(i)) continue;
    const d = G[i * K + i]! + G[j * K + j]! - 2 * G[i * K + j]!;
    if (d < bestDist) {
      bestDist = d;
      best = i;
    }
  }
  return best;
}

/**
 * Local search from `parent0` for the tree with the smallest generalised residual sum of squares.
 */
export function searchTree(
  data: MeterSeries,
  parent0: Int32Array,
  opts: TreeSearchOptions = {},
): TreeSearchResult {
  const N = data.busNames.length;
  const root = data.root;
  if (parent0.length !== N)
    throw new TopologyError(`parent array has ${parent0.length} entries for ${N} buses`);
  const gram = opts.gram ?? seriesGram(data, opts.correction, opts.rows);
  const G = gram.G;
  const scorer = new TreeScorer(G, N, root, opts.nonNegative ?? true);
  const near = nearestByVoltage(G, N, root, opts.neighbours ?? 20);
  const maxSweeps = opts.maxSweeps ?? 30;
  const tol = 1e-12;

  // Every candidate move of bus j, as a sequence of parent changes on top of the current tree.
  const movesOf = (j: number, cur: Int32Array, cand: Candidate, visit: () => void) => {
    const pj = cur[j]!;
    const kidsJ = [...scorer.children(j)];
    for (let i = 0; i < N; i++) {
      if (!near[j]![i]) continue;
      const iInSub = scorer.inSubtree(j, i);
      // Subtree regraft under i, and subtree inserted into the edge i -> c, and exchange with c.
      if (!iInSub) {
        if (i !== pj) {
          cand.set(j, i);
          visit();
          cand.reset();
        }
        for (const c of scorer.children(i)) {
          if (scorer.inSubtree(j, c)) continue;
          cand.set(j, i);
          cand.set(c, j);
          visit();
          cand.reset();
          if (!scorer.inSubtree(c, pj)) {
            cand.set(j, i);
            cand.set(c, pj);
            visit();
            cand.reset();
          }
        }
      }
      // Bus j alone: its children move up to its parent, j becomes a leaf of i or splits an edge i -> c. For a leaf
      // j these are the subtree moves above again (same trees, found later, so never a strict improvement on them).
      if (i !== j && kidsJ.length > 0) {
        const setBase = () => {
          for (const c of kidsJ) cand.set(c, pj);
          cand.set(j, i);
        };
        if (i !== pj || kidsJ.length > 0) {
          setBase();
          visit();
          cand.reset();
        }
        const splitChildren = i === pj ? [...scorer.children(i), ...kidsJ] : [...scorer.children(i)];
        for (const c of splitChildren) {
          if (c === root || c === j) continue;
          setBase();
          cand.set(c, j);
          visit();
          cand.reset();
        }
      }
    }
    if (pj !== root) {
      // Swap j with its parent a: partial (children stay) and full (children exchanged).
      const a = pj;
      const pa = cur[a]!;
      cand.set(j, pa);
      cand.set(a, j);
      visit();
      for (const c of kidsJ) cand.set(c, a);
      for (const c of scorer.children(a)) if (c !== j) cand.set(c, j);
      visit();
      cand.reset();
    }
  };

  const descend = (
    start: Int32Array,
  ): { parent: Int32Array; score: number; initialScore: number; moves: number; sweeps: number } => {
    const cur = Int32Array.from(start);
    let best = scorer.setTree(cur);
    if (!Number.isFinite(best)) throw new TopologyError(`start parent array is not a tree rooted at ${root}`);
    const initialScore = best;
    let moves = 0;
    let sweeps = 0;
    const cand = new Candidate(cur);
    const bestMoves: number[] = [];
    // "Don't look" flags: after a pass without an improving move, bus j is looked at again only when a bus among
    // its voltage neighbours moved (a move elsewhere changes j's options only through far-away fits).
    const look = new Uint8Array(N).fill(1);
    look[root] = 0;
    for (; sweeps < maxSweeps; ) {
      sweeps++;
      let moved = 0;
      for (let j = 0; j < N; j++) {
        if (!look[j]) continue;
        look[j] = 0;
        let bestDelta = -tol * Math.abs(best);
        let found = false;
        movesOf(j, cur, cand, () => {
          const n = cand.count;
          cand.scratch.set(cand.moved.subarray(0, n));
          const d = scorer.delta(cand.parent, cand.scratch, n);
          if (d < bestDelta) {
            bestDelta = d;
            found = true;
            bestMoves.length = 0;
            for (let a = 0; a < n; a++) {
              const k = cand.moved[a]!;
              bestMoves.push(k, cand.parent[k]!);
            }
          }
        });
        if (found) {
          for (let a = 0; a < bestMoves.length; a += 2) {
            const k = bestMoves[a]!;
            for (const x of [k, cur[k]!, bestMoves[a + 1]!])
              for (let u = 0; u < N; u++) if (u !== root && (near[u]![x] || near[x]![u])) look[u] = 1;
            cur[k] = bestMoves[a + 1]!;
          }
          best = scorer.setTree(cur);
          cand.parent.set(cur);
          moved++;
        }
      }
      moves += moved;
      if (!moved) break;
    }
    return { parent: cur, score: best, initialScore, moves, sweeps };
  };

  let result = { ...descend(parent0), startIndex: 0 };
  const initialScore = result.initialScore;
  (opts.extraStarts ?? []).forEach((start, k) => {
    if (start.length !== N)
      throw new TopologyError(`start ${k + 1} has ${start.length} entries for ${N} buses`);
    const r = descend(start);
    if (r.score < result.score) result = { ...r, startIndex: k + 1 };
  });
  // Zero-injection buses (P = Q = 0 in every reading) carry no flow of their own: one with a single child and no
  // drop to it is the same electrical node as that child, and the likelihood cannot say which of the two sits
  // upstream. Physics can: placing it between the two needs a branch of zero impedance, which real lines do not
  // have. As a prior against such branches, a tree with the zero-injection bus as a leaf (or moved off the path) is
  // preferred unless the data favour the other by more than `zeroInjectionPrior` log-likelihood units (default 5).
  const cur = Int32Array.from(result.parent);
  let current = scorer.setTree(cur);
  const zeroInjection = data.busNames.map(
    (_, k) =>
      k !== root &&
      data.p[k]!.every((x) => x === 0 || Number.isNaN(x)) &&
      data.q[k]!.every((x) => x === 0 || Number.isNaN(x)) &&
      data.p[k]!.some((x) => x === 0),
  );
  if (zeroInjection.some(Boolean)) {
    const tie = (2 * (opts.zeroInjectionPrior ?? 5) * current) / Math.max(1, gram.samples * (N - 1));
    const cand = new Candidate(cur);
    for (let pass = 0; pass < N; pass++) {
      let changed = false;
      for (let j = 0; j < N; j++) {
        if (!zeroInjection[j]) continue;
        const kids = [...scorer.children(j)];
        if (kids.length === 0) continue;
        const pj = cur[j]!;
        let best = tie;
        let pick: [number, number][] | undefined;
        // j alone under its parent (children move up), or j a leaf under one of its children (which moves up).
        const options: [number, number][][] = [[...kids.map((c): [number, number] => [c, pj]), [j, pj]]];
        for (const c of kids) {
          if (zeroInjection[c]) continue;
          options.push([
            [c, pj],
            ...kids.filter((o) => o !== c).map((o): [number, number] => [o, c]),
            [j, c],
          ]);
        }
        for (const moves of options) {
          for (const [k, v] of moves) cand.set(k, v);
          const n = cand.count;
          cand.scratch.set(cand.moved.subarray(0, n));
          const d = scorer.delta(cand.parent, cand.scratch, n);
          cand.reset();
          if (d <= best) {
            best = d;
            pick = moves;
          }
        }
        if (pick) {
          for (const [k, v] of pick) cur[k] = v;
          current = scorer.setTree(cur);
          cand.parent.set(cur);
          changed = true;
        }
      }
      if (!changed) break;
    }
    // A zero-injection leaf carries no current, so its branch has no drop: its voltage equals its parent's up to
    // meter noise, and Σ_t (w_i − w_j)² is at noise level only for the true parent i. Each such leaf hangs off the
    // bus it matches best (not another zero-injection leaf, which would turn that one into a junction).
    const leafOf = (j: number) => scorer.children(j).next().done === true;
    for (let pass = 0; pass < 2; pass++) {
      let changed = false;
      for (let j = 0; j < N; j++) {
        if (!zeroInjection[j] || !leafOf(j)) continue;
        const i = matchingParent(G, N, j, (k) => k === j || (zeroInjection[k]! && leafOf(k)));
        if (i < 0 || i === cur[j]) continue;
        cur[j] = i;
        current = scorer.setTree(cur);
        changed = true;
      }
      if (!changed) break;
    }
    result = { ...result, parent: Int32Array.from(cur), score: current };
  }
  // Margins: for each edge of the final tree, the smallest score increase of a move that removes it. As costly as a
  // full pass of the search, and only the last search of a topology estimate needs them: computed on first read
  // (nothing else touches this scorer once the search has returned).
  let margins: Float64Array | undefined;
  const computeMargins = (): Float64Array => {
    const cand = new Candidate(cur);
    const margin = new Float64Array(N).fill(Number.POSITIVE_INFINITY);
    margin[root] = Number.NaN;
    for (let j = 0; j < N; j++) {
      if (j === root) continue;
      movesOf(j, cur, cand, () => {
        const n = cand.count;
        cand.scratch.set(cand.moved.subarray(0, n));
        const d = scorer.delta(cand.parent, cand.scratch, n);
        if (!Number.isFinite(d)) return;
        for (let a = 0; a < n; a++) {
          const k = cand.moved[a]!;
          const p = cur[k]!;
          // The undirected edge {p, k} survives a flipped orientation.
          if (cand.parent[k] === p || cand.parent[p] === k) continue;
          if (d < margin[k]!) margin[k] = d;
        }
      });
    }
    return margin;
  };
  return {
    parent: result.parent,
    score: result.score,
    initialScore,
    moves: result.moves,
    sweeps: result.sweeps,
    startIndex: result.startIndex,
    get margin() {
      margins ??= computeMargins();
      return margins;
    },
    residualVariance: result.score / Math.max(1, gram.samples * (N - 1)),
  };
}
