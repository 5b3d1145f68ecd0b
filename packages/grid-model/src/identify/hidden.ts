import { cappedList } from "../text.js";
import { basisSeries, type SeriesCorrection } from "./gram.js";
import { interpolateMissing, type MeterSeries } from "./meter-data.js";
import { fitTwoRegressors, solveSpd } from "./normal-equations.js";
import { lossCorrection } from "./tree-search.js";

/**
 * Unmetered zero-injection junctions (docs/identification.md, "Hidden junctions").
 *
 * A bus without a meter is not in the tree of metered buses. When it is a junction (three or more branches, no
 * load), its shared segment carries the flows of all its children, which no tree of metered buses represents. A
 * hidden junction h with metered parent a and children S injects nothing, so for every child c
 *   w_a − w_c = 2 r_h P_S + 2 x_h Q_S + 2 r_c P_c + 2 x_c Q_c + noise,     P_S = Σ_{c ∈ S} P_c,
 * with (r_h, x_h) shared by all children. A chain of hidden junctions adds the shared terms of every hidden bus on
 * the path. Each candidate insertion (a, S), S ⊆ children and grandchildren of a, is fitted jointly (least squares
 * over the stacked equations) and scored with the tree likelihood of the metered buses; the best one is accepted
 * when it lowers −2 log L by more than 2 ln(candidates / α) (the best of that many χ²₂ likelihood-ratio
 * statistics exceeds it with probability at most α under "no junction"), up to the number of unmetered buses.
 */

export interface HiddenJunctionOptions {
  /** At most this many insertions (the number of unmetered buses). */
  readonly maxInsertions: number;
  /** Loss correction of the metered tree (lossCorrection); the series are the stage-1 series. */
  readonly correction?: SeriesCorrection;
  /**
   * False-insertion probability per step under Gaussian noise (default 0.01): an insertion must lower −2 log L by
   * more than 2 ln(candidates / significance).
   */
  readonly significance?: number;
  /** Extra −2 log L an insertion must gain beyond that (default 0). */
  readonly extraPenalty?: number;
  /** Candidate child sets are drawn from at most this many children and grandchildren of a bus (default 8). */
  readonly maxNeighbourhood?: number;
  /** Redo the loss correction on the extended tree (series with the estimated |V| of the hidden buses) after each insertion. */
  readonly recorrect?: (series: MeterSeries, parent: Int32Array) => SeriesCorrection | undefined;
}

export interface HiddenJunctionFit {
  /** Index of the inserted bus in the augmented series (≥ the number of metered buses). */
  readonly bus: number;
  readonly parent: number;
  readonly children: readonly number[];
  /** Decrease of −2 log L (score / σ̂²) when it was inserted. */
  readonly gain: number;
  /** Penalty it had to beat. */
  readonly penalty: number;
  /** Shared (r, x) of the branch into the junction from the joint fit (pu). */
  readonly r: number;
  readonly x: number;
}

export interface HiddenJunctionResult {
  /** Parent array over the metered buses followed by the inserted junctions. */
  readonly parent: Int32Array;
  readonly junctions: readonly HiddenJunctionFit[];
  /** Estimated corrected voltage series w_h = v_h − v_0 − dv of each inserted junction, in insertion order. */
  readonly w: readonly Float64Array[];
  /** The same as |V| (pu). */
  readonly vm: readonly Float64Array[];
  /** Score (generalised residual sum of squares) before and after. */
  readonly scoreBefore: number;
  readonly scoreAfter: number;
  /** Candidate insertions scored. */
  readonly candidates: number;
}

/**
 * Tree likelihood with hidden buses over preallocated per-bus series. A metered bus under a metered parent gets the
 * branch LS fit; the metered children of a hidden component (connected hidden buses below a metered top) are
 * fitted jointly, each equation spanning from the top with the shared (r, x) of every hidden bus on its path.
 * `prepare` evaluates the current tree in full; `candidate` scores one insertion incrementally: only the equations
 * whose regressors or path change are refitted, and every bus below a changed bus d shifts its path residual by
 * the same ΔU_d (the grouping of the tree search, docs/identification.md "Scoring a move").
 */
export class HiddenScorer {
  readonly T: number;
  readonly M: number;
  /** Subtree sums of the corrected loads (per bus, length T). */
  readonly SP: Float64Array[];
  readonly SQ: Float64Array[];
  /** Residual of the (stacked) equation into each metered bus. */
  readonly res: Float64Array[];
  /** Path-summed residuals U of the current tree, and their sums over each subtree (metered buses only). */
  readonly U: Float64Array[];
  readonly SU: Float64Array[];
  readonly count: Int32Array;
  /** Fitted (r, x) per bus (branch into it). */
  readonly r: Float64Array;
  readonly x: Float64Array;
  private readonly y: Float64Array;
  private readonly dU: Float64Array;
  private readonly sumNew: Float64Array;
  private readonly spSave: Float64Array[];
  private readonly sqSave: Float64Array[];
  private readonly kidsStart: Int32Array;
  private readonly kidsList: Int32Array;
  private readonly fill: Int32Array;
  /** Cached inner products of the prepared subtree sums: ⟨S_a, S_b⟩ for kinds P, Q (NaN = not yet computed). */
  private readonly ipPP: Float64Array;
  private readonly ipPQ: Float64Array;
  private readonly ipQQ: Float64Array;
  /** ⟨S_a, W_k⟩ for kinds P, Q. */
  private readonly ipPW: Float64Array;
  private readonly ipQW: Float64Array;
  /** Series of the prepared subtree sums (a candidate changes SP / SQ of some buses in place). */
  private readonly baseSP: Float64Array[];
  private readonly baseSQ: Float64Array[];
  /** A candidate's new bus h, its children and the buses that lose a child (expansions of their sums). */
  private candH = -1;
  private candA = -1;
  private candS: readonly number[] = [];
  private readonly candParent: Int32Array;
  private readonly regBus: Int32Array;
  private readonly regKind: Int32Array;
  private readonly regIdx: Int32Array;
  private readonly expBus: Int32Array;
  private readonly expSign: Float64Array;
  private readonly expBus2: Int32Array;
  private readonly expSign2: Float64Array;
  private readonly order: Int32Array;
  private readonly beta = new Float64Array(2);
  /** Σ_k ‖U_k‖², Σ_k U_k and the number of metered non-root buses of the current tree. */
  ss = 0;
  readonly sum: Float64Array;
  metered = 0;
  constructor(
    readonly W: Float64Array[],
    readonly P: readonly Float64Array[],
    readonly Q: readonly Float64Array[],
    readonly root: number,
    maxChanged: number,
  ) {
    this.T = W[0]!.length;
    this.M = W.length;
    const mk = (n: number) => Array.from({ length: n }, () => new Float64Array(this.T));
    this.SP = mk(this.M);
    this.SQ = mk(this.M);
    this.res = mk(this.M);
    this.U = mk(this.M);
    this.SU = mk(this.M);
    this.spSave = mk(maxChanged);
    this.sqSave = mk(maxChanged);
    this.count = new Int32Array(this.M);
    this.r = new Float64Array(this.M);
    this.x = new Float64Array(this.M);
    this.y = new Float64Array(this.T);
    this.dU = new Float64Array(this.T);
    this.sumNew = new Float64Array(this.T);
    this.sum = new Float64Array(this.T);
    this.kidsStart = new Int32Array(this.M + 1);
    this.kidsList = new Int32Array(this.M);
    this.fill = new Int32Array(this.M);
    const mm = () => new Float64Array(this.M * this.M).fill(Number.NaN);
    this.ipPP = mm();
    this.ipPQ = mm();
    this.ipQQ = mm();
    this.ipPW = mm();
    this.ipQW = mm();
    this.baseSP = [...this.SP];
    this.baseSQ = [...this.SQ];
    this.candParent = new Int32Array(this.M);
    this.regBus = new Int32Array(2 * this.M + 2);
    this.regKind = new Int32Array(2 * this.M + 2);
    this.regIdx = new Int32Array(2 * this.M + 2);
    this.expBus = new Int32Array(2 * this.M);
    this.expSign = new Float64Array(2 * this.M);
    this.expBus2 = new Int32Array(2 * this.M);
    this.expSign2 = new Float64Array(2 * this.M);
    this.order = new Int32Array(this.M);
  }

  /**
   * The subtree sum of u as ±sums of prepared ones: h's is the sum over S less the children of S members that are
   * in S too; a bus that loses children to h has its own less theirs. Returns the number of terms.
   */
  private expand(u: number, bus: Int32Array, sign: Float64Array): number {
    const S = this.candS;
    const par = this.candParent;
    if (u === this.candH) {
      let n = 0;
      for (const s of S) {
        bus[n] = s;
        sign[n++] = 1;
      }
      for (const g of S)
        if (S.includes(par[g]!)) {
          bus[n] = g;
          sign[n++] = -1;
        }
      return n;
    }
    bus[0] = u;
    sign[0] = 1;
    let n = 1;
    if (this.candH >= 0 && u !== this.candA)
      for (const g of S)
        if (par[g] === u) {
          bus[n] = g;
          sign[n++] = -1;
        }
    return n;
  }

  private dot(a: Float64Array, b: Float64Array): number {
    let s = 0;
    for (let t = 0; t < this.T; t++) s += a[t]! * b[t]!;
    return s;
  }

  /** ⟨S_kind(a), S_kind(b)⟩ of prepared subtree sums (kind 0 = P, 1 = Q), cached. */
  private innerBase(ka: number, a: number, kb: number, b: number): number {
    const M = this.M;
    if (ka === 1 && kb === 0) return this.innerBase(0, b, 1, a);
    const cache = ka === 0 ? (kb === 0 ? this.ipPP : this.ipPQ) : this.ipQQ;
    let v = cache[a * M + b]!;
    if (Number.isNaN(v)) {
      v = this.dot(
        ka === 0 ? this.baseSP[a]! : this.baseSQ[a]!,
        kb === 0 ? this.baseSP[b]! : this.baseSQ[b]!,
      );
      cache[a * M + b] = v;
      if (ka === kb) cache[b * M + a] = v;
    }
    return v;
  }

  /** ⟨S'_kind(a), S'_kind(b)⟩ of the (candidate's) subtree sums. */
  private inner(ka: number, a: number, kb: number, b: number): number {
    const na = this.expand(a, this.expBus, this.expSign);
    const nb = this.expand(b, this.expBus2, this.expSign2);
    let s = 0;
    for (let i = 0; i < na; i++)
      for (let j = 0; j < nb; j++)
        s += this.expSign[i]! * this.expSign2[j]! * this.innerBase(ka, this.expBus[i]!, kb, this.expBus2[j]!);
    return s;
  }

  /** ⟨S'_kind(a), W_k⟩. */
  private innerW(ka: number, a: number, k: number): number {
    const M = this.M;
    const cache = ka === 0 ? this.ipPW : this.ipQW;
    const n = this.expand(a, this.expBus, this.expSign);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const u = this.expBus[i]!;
      let v = cache[u * M + k]!;
      if (Number.isNaN(v)) {
        v = this.dot(ka === 0 ? this.baseSP[u]! : this.baseSQ[u]!, this.W[k]!);
        cache[u * M + k] = v;
      }
      s += this.expSign[i]! * v;
    }
    return s;
  }

  private children(parent: Int32Array, active: number): void {
    const ks = this.kidsStart;
    ks.fill(0);
    for (let j = 0; j < active; j++) if (parent[j]! >= 0) ks[parent[j]! + 1]!++;
    for (let j = 0; j < active; j++) ks[j + 1] = ks[j + 1]! + ks[j]!;
    const fill = this.fill;
    for (let j = 0; j < active; j++) fill[j] = ks[j]!;
    for (let j = 0; j < active; j++) {
      const p = parent[j]!;
      if (p >= 0) this.kidsList[fill[p]!++] = j;
    }
  }

  /** Plain branch fit of metered e under metered i into res[e], r[e], x[e]. */
  private fitPlain(e: number, i: number): void {
    const { T, y } = this;
    const a = this.SP[e]!;
    const b = this.SQ[e]!;
    const wi = this.W[i]!;
    const we = this.W[e]!;
    let aa = 0;
    let ab = 0;
    let bb = 0;
    let ay = 0;
    let by = 0;
    for (let t = 0; t < T; t++) {
      const d = wi[t]! - we[t]!;
      y[t] = d;
      aa += a[t]! * a[t]!;
      ab += a[t]! * b[t]!;
      bb += b[t]! * b[t]!;
      ay += a[t]! * d;
      by += b[t]! * d;
    }
    // Regressors 2a, 2b: the plain (unconstrained) fit on a, b of y / 2.
    const beta = this.beta;
    fitTwoRegressors(aa, ab, bb, ay / 2, by / 2, false, beta);
    const r = beta[0]!;
    const x = beta[1]!;
    this.r[e] = r;
    this.x[e] = x;
    const re = this.res[e]!;
    for (let t = 0; t < T; t++) re[t] = y[t]! - 2 * (r * a[t]! + x * b[t]!);
  }

  /**
   * Joint LS of the hidden component headed by h (its parent metered): fills res, r, x of its metered children
   * (appended to `kidsOut`) and r, x of its hidden buses; false when singular.
   */
  private fitComponent(parent: Int32Array, hidden: Uint8Array, h: number, kidsOut: number[]): boolean {
    const { T, SP, SQ, W, res } = this;
    const ks = this.kidsStart;
    const kl = this.kidsList;
    const comp: number[] = [h];
    for (let c = 0; c < comp.length; c++) {
      const u = comp[c]!;
      for (let k = ks[u]!; k < ks[u + 1]!; k++) if (hidden[kl[k]!]) comp.push(kl[k]!);
    }
    const first = kidsOut.length;
    for (const u of comp) for (let k = ks[u]!; k < ks[u + 1]!; k++) if (!hidden[kl[k]!]) kidsOut.push(kl[k]!);
    const nk = kidsOut.length - first;
    const nh = comp.length;
    const m = 2 * (nh + nk);
    const slot = new Map<number, number>();
    comp.forEach((u, i) => {
      slot.set(u, i);
    });
    const A = new Float64Array(m * m);
    const b = new Float64Array(m);
    const top = parent[h]!;
    const wa = W[top]!;
    // Normal equations from inner products of the prepared tree's subtree sums (cached; a candidate's modified
    // sums are linear combinations of them), so assembling them does not touch the T samples.
    const rb = this.regBus;
    const rk = this.regKind;
    const ri = this.regIdx;
    for (let ci = 0; ci < nk; ci++) {
      const c = kidsOut[first + ci]!;
      let R = 0;
      for (let u = parent[c]!; u !== top; u = parent[u]!) {
        const s = slot.get(u)!;
        rb[R] = u;
        rk[R] = 0;
        ri[R++] = 2 * s;
        rb[R] = u;
        rk[R] = 1;
        ri[R++] = 2 * s + 1;
      }
      rb[R] = c;
      rk[R] = 0;
      ri[R++] = 2 * (nh + ci);
      rb[R] = c;
      rk[R] = 1;
      ri[R++] = 2 * (nh + ci) + 1;
      for (let u = 0; u < R; u++) {
        b[ri[u]!] = b[ri[u]!]! + 2 * (this.innerW(rk[u]!, rb[u]!, top) - this.innerW(rk[u]!, rb[u]!, c));
        for (let v = u; v < R; v++) {
          const g = this.inner(rk[u]!, rb[u]!, rk[v]!, rb[v]!);
          A[ri[u]! * m + ri[v]!] = A[ri[u]! * m + ri[v]!]! + 4 * g;
          if (v !== u) A[ri[v]! * m + ri[u]!] = A[ri[v]! * m + ri[u]!]! + 4 * g;
        }
      }
    }
    // Rank deficient (e.g. two hidden buses with the same flows): not a model the data can tell apart.
    const z = solveSpd(
      Array.from({ length: m }, (_, i) => Array.from(A.subarray(i * m, (i + 1) * m))),
      Array.from(b),
    );
    if (!z) return false;
    b.set(z);
    comp.forEach((u, i) => {
      this.r[u] = b[2 * i]!;
      this.x[u] = b[2 * i + 1]!;
    });
    for (let ci = 0; ci < nk; ci++) {
      const c = kidsOut[first + ci]!;
      this.r[c] = b[2 * (nh + ci)]!;
      this.x[c] = b[2 * (nh + ci) + 1]!;
      const re = res[c]!;
      const wc = W[c]!;
      for (let t = 0; t < T; t++) re[t] = wa[t]! - wc[t]!;
      for (let u = c; u !== top; u = parent[u]!) {
        const r = this.r[u]!;
        const x = this.x[u]!;
        const sp = SP[u]!;
        const sq = SQ[u]!;
        for (let t = 0; t < T; t++) re[t] = re[t]! - 2 * (r * sp[t]! + x * sq[t]!);
      }
    }
    return true;
  }

  private metTop(parent: Int32Array, hidden: Uint8Array, u: number): number {
    let a = parent[u]!;
    while (hidden[a]) a = parent[a]!;
    return a;
  }

  /** Full evaluation of the tree: subtree sums, fits, U, SU, counts, ss and sum; false when a fit is singular. */
  prepare(parent: Int32Array, hidden: Uint8Array, active: number): boolean {
    const { T, SP, SQ, P, Q, U, SU, count } = this;
    this.children(parent, active);
    const ks = this.kidsStart;
    const kl = this.kidsList;
    const order = this.order;
    let n = 0;
    order[n++] = this.root;
    for (let o = 0; o < n; o++) {
      const u = order[o]!;
      for (let c = ks[u]!; c < ks[u + 1]!; c++) order[n++] = kl[c]!;
    }
    for (let o = n - 1; o >= 0; o--) {
      const u = order[o]!;
      const sp = SP[u]!;
      const sq = SQ[u]!;
      sp.set(P[u]!);
      sq.set(Q[u]!);
      for (let c = ks[u]!; c < ks[u + 1]!; c++) {
        const a = SP[kl[c]!]!;
        const b = SQ[kl[c]!]!;
        for (let t = 0; t < T; t++) {
          sp[t] = sp[t]! + a[t]!;
          sq[t] = sq[t]! + b[t]!;
        }
      }
    }
    this.ipPP.fill(Number.NaN);
    this.ipPQ.fill(Number.NaN);
    this.ipQQ.fill(Number.NaN);
    this.ipPW.fill(Number.NaN);
    this.ipQW.fill(Number.NaN);
    this.candH = -1;
    const kids: number[] = [];
    for (let o = 1; o < n; o++) {
      const e = order[o]!;
      const i = parent[e]!;
      if (hidden[e]) {
        if (!hidden[i] && !this.fitComponent(parent, hidden, e, kids)) return false;
      } else if (!hidden[i]) this.fitPlain(e, i);
    }
    U[this.root]!.fill(0);
    this.ss = 0;
    this.sum.fill(0);
    this.metered = 0;
    for (let o = 1; o < n; o++) {
      const u = order[o]!;
      const uu = U[u]!;
      if (hidden[u]) {
        uu.fill(0);
        continue;
      }
      const ua = U[this.metTop(parent, hidden, u)]!;
      const re = this.res[u]!;
      let s = 0;
      for (let t = 0; t < T; t++) {
        const v = ua[t]! + re[t]!;
        uu[t] = v;
        s += v * v;
      }
      this.ss += s;
      this.metered++;
    }
    // Subtree sums of U and counts, leaves first.
    for (let o = n - 1; o >= 0; o--) {
      const u = order[o]!;
      const su = SU[u]!;
      if (hidden[u] || u === this.root) su.fill(0);
      else su.set(U[u]!);
      count[u] = hidden[u] || u === this.root ? 0 : 1;
      for (let c = ks[u]!; c < ks[u + 1]!; c++) {
        const k = kl[c]!;
        const a = SU[k]!;
        for (let t = 0; t < T; t++) su[t] = su[t]! + a[t]!;
        count[u] = count[u]! + count[k]!;
      }
    }
    this.sum.set(SU[this.root]!);
    return true;
  }

  /** Generalised residual sum of squares Σ‖U‖² − ‖ΣU‖² / (metered + 1) of the prepared tree. */
  score(): number {
    return this.ss - sqNormOf(this.sum) / (this.metered + 1);
  }

  /**
   * Score of the prepared tree `parent` with the hidden bus h inserted under a with the children S (children and
   * grandchildren of a); NaN when a fit is singular or the shared (r, x) of h is not positive.
   */
  candidate(
    parent: Int32Array,
    cand: Int32Array,
    hidden: Uint8Array,
    active: number,
    h: number,
    a: number,
    S: readonly number[],
  ): number {
    const { T, SP, SQ, U, SU, count, res } = this;
    // Buses that lose a child to h (children of a), with their old subtree sums saved.
    const lost: number[] = [];
    for (const g of S) {
      const c = parent[g]!;
      if (c !== a && !lost.includes(c)) lost.push(c);
    }
    lost.forEach((c, i) => {
      this.spSave[i]!.set(SP[c]!);
      this.sqSave[i]!.set(SQ[c]!);
      this.baseSP[c] = this.spSave[i]!;
      this.baseSQ[c] = this.sqSave[i]!;
    });
    this.candH = h;
    this.candA = a;
    this.candS = S;
    this.candParent.set(parent.subarray(0, active));
    for (const g of S) {
      const c = parent[g]!;
      if (c === a) continue;
      const sp = SP[c]!;
      const sq = SQ[c]!;
      const a1 = SP[g]!;
      const b1 = SQ[g]!;
      for (let t = 0; t < T; t++) {
        sp[t] = sp[t]! - a1[t]!;
        sq[t] = sq[t]! - b1[t]!;
      }
    }
    const sph = SP[h]!;
    const sqh = SQ[h]!;
    sph.fill(0);
    sqh.fill(0);
    for (const s of S) {
      const a1 = SP[s]!;
      const b1 = SQ[s]!;
      for (let t = 0; t < T; t++) {
        sph[t] = sph[t]! + a1[t]!;
        sqh[t] = sqh[t]! + b1[t]!;
      }
    }
    hidden[h] = 1;
    this.children(cand, active + 1);
    // A hidden bus is a junction: one left with a single child (a, or a hidden bus that lost children) would be a
    // series point whose branch cannot be told from its child's.
    const ks = this.kidsStart;
    let junctions = !hidden[a] || ks[a + 1]! - ks[a]! >= 2;
    for (const c of lost) if (hidden[c] && ks[c + 1]! - ks[c]! < 2) junctions = false;
    // Equations to refit: the component holding h, the components headed by hidden buses that lost a child (when
    // a is metered; otherwise they are in h's component), and metered buses that lost a child.
    const changed: number[] = [];
    let ok = true;
    let head = h;
    while (hidden[cand[head]!]) head = cand[head]!;
    ok = junctions && this.fitComponent(cand, hidden, head, changed);
    for (const c of lost) {
      if (!ok) break;
      // A bus of S that lost a child is in h's component already.
      if (cand[c] === h) continue;
      if (hidden[c]) {
        if (!hidden[a]) ok = this.fitComponent(cand, hidden, c, changed);
      } else if (!hidden[a]) {
        this.fitPlain(c, a);
        changed.push(c);
      } else {
        // A metered bus under a hidden a is a child of a's component, refitted with it.
      }
    }
    const positive = this.r[h]! > 0 && this.x[h]! > 0;
    let result = Number.NaN;
    if (ok && positive) {
      // ΔΣ‖U‖² = Σ_d 2⟨ΔU_d, Σ_{k ∈ grp(d)} U_k⟩ + |grp(d)| ‖ΔU_d‖², grp(d) = the new subtree of d.
      const dU = this.dU;
      const sumNew = this.sumNew;
      sumNew.set(this.sum);
      let dss = 0;
      for (const d of changed) {
        let top = cand[d]!;
        while (hidden[top]) top = cand[top]!;
        const ua = U[top]!;
        const ud = U[d]!;
        const re = res[d]!;
        const sud = SU[d]!;
        let cnt = count[d]!;
        for (let t = 0; t < T; t++) dU[t] = ua[t]! + re[t]! - ud[t]!;
        let cross = 0;
        let norm = 0;
        for (let t = 0; t < T; t++) {
          cross += dU[t]! * sud[t]!;
          norm += dU[t]! * dU[t]!;
        }
        // A bus that lost children: their subtrees no longer shift with it.
        for (const g of S) {
          if (parent[g] !== d) continue;
          const sug = SU[g]!;
          for (let t = 0; t < T; t++) cross -= dU[t]! * sug[t]!;
          cnt -= count[g]!;
        }
        dss += 2 * cross + cnt * norm;
        for (let t = 0; t < T; t++) sumNew[t] = sumNew[t]! + cnt * dU[t]!;
      }
      result = this.ss + dss - sqNormOf(sumNew) / (this.metered + 1);
    }
    hidden[h] = 0;
    this.candH = -1;
    lost.forEach((c, i) => {
      SP[c]!.set(this.spSave[i]!);
      SQ[c]!.set(this.sqSave[i]!);
      this.baseSP[c] = SP[c]!;
      this.baseSQ[c] = SQ[c]!;
    });
    return result;
  }
}

function sqNormOf(a: Float64Array): number {
  let s = 0;
  for (let t = 0; t < a.length; t++) s += a[t]! * a[t]!;
  return s;
}

/**
 * Inserts hidden zero-injection junctions into a tree of metered buses (greedy, best insertion first) and
 * estimates their voltage series. `parent` is over data's buses. With `recorrect`, the loss correction is redone
 * on the extended tree after every insertion (a junction's losses grow with the square of the summed flows of its
 * children, which the metered tree splits between them; left in, the misfit invites spurious insertions).
 */
export function insertHiddenJunctions(
  data: MeterSeries,
  parent0: Int32Array,
  opts: HiddenJunctionOptions,
): HiddenJunctionResult {
  const N = data.busNames.length;
  const T = data.samples;
  const maxIns = Math.max(0, Math.floor(opts.maxInsertions));
  const M = N + maxIns;
  const W: Float64Array[] = [];
  const P: Float64Array[] = [];
  const Q: Float64Array[] = [];
  for (let k = 0; k < M; k++) {
    W.push(new Float64Array(T));
    P.push(new Float64Array(T));
    Q.push(new Float64Array(T));
  }
  const root = data.root;
  const load = (corr: SeriesCorrection | undefined) => {
    const { basis } = basisSeries(data, corr && { dp: corr.dp, dq: corr.dq, dv: corr.dv });
    for (let k = 0; k < N; k++) {
      W[k]!.set(basis[k]!);
      P[k]!.set(basis[N + k]!);
      Q[k]!.set(basis[2 * N + k]!);
    }
    P[root]!.fill(0);
    Q[root]!.fill(0);
    // A hidden bus injects its own branch's losses (r̂ℓ, x̂ℓ) like every bus of the corrected series.
    for (let k = N; k < M; k++) {
      const dp = corr?.dp[k];
      const dq = corr?.dq[k];
      if (dp) P[k]!.set(dp);
      else P[k]!.fill(0);
      if (dq) Q[k]!.set(dq);
      else Q[k]!.fill(0);
    }
  };
  let correction = opts.correction;
  load(correction);
  const v0 = interpolateMissing(data.vm[root]!);
  const maxNb = opts.maxNeighbourhood ?? 8;
  const sc = new HiddenScorer(W, P, Q, root, maxNb);
  const parent = new Int32Array(M).fill(-1);
  parent.set(parent0);
  const hidden = new Uint8Array(M);
  let active = N;
  const junctions: HiddenJunctionFit[] = [];
  // Voltage series of the hidden buses: the average of the estimates from the component's metered top (down the
  // fitted drops) and from each metered bus hanging below (up the fitted drops), each with one meter's noise.
  const estimate = (): Float64Array[] => {
    const out: Float64Array[] = [];
    const drop = (u: number, t: number) => 2 * (sc.r[u]! * sc.SP[u]![t]! + sc.x[u]! * sc.SQ[u]![t]!);
    for (let h = N; h < active; h++) {
      const acc = new Float64Array(T);
      let cnt = 1;
      let a = h;
      while (hidden[a]) a = parent[a]!;
      const wa = W[a]!;
      for (let t = 0; t < T; t++) {
        let v = wa[t]!;
        for (let u = h; u !== a; u = parent[u]!) v -= drop(u, t);
        acc[t] = v;
      }
      for (let c = 0; c < N; c++) {
        if (c === root || !hidden[parent[c]!]) continue;
        let on = false;
        for (let u = parent[c]!; hidden[u]; u = parent[u]!) if (u === h) on = true;
        if (!on) continue;
        const wc = W[c]!;
        for (let t = 0; t < T; t++) {
          let v = wc[t]! + drop(c, t);
          for (let u = parent[c]!; u !== h; u = parent[u]!) v += drop(u, t);
          acc[t] = acc[t]! + v;
        }
        cnt++;
      }
      for (let t = 0; t < T; t++) acc[t] = acc[t]! / cnt;
      out.push(acc);
    }
    return out;
  };
  // |V| of the hidden buses from w = v − v0 − dv (dv of the bus itself once a correction covers it, else its top's).
  const magnitudes = (w: readonly Float64Array[]): Float64Array[] =>
    w.map((wh, i) => {
      let a = N + i;
      while (hidden[a]) a = parent[a]!;
      const dv = correction?.dv[N + i] ?? correction?.dv[a];
      const s = new Float64Array(T);
      for (let t = 0; t < T; t++) s[t] = Math.sqrt(Math.max(0, wh[t]! + v0[t]! * v0[t]! + (dv ? dv[t]! : 0)));
      return s;
    });
  const result = (scoreBefore: number, scoreAfter: number, candidates: number): HiddenJunctionResult => {
    const w = junctions.length > 0 && sc.prepare(parent, hidden, active) ? estimate() : [];
    return {
      parent: parent.slice(0, active),
      junctions: junctions.slice(0, w.length),
      w,
      vm: magnitudes(w),
      scoreBefore,
      scoreAfter,
      candidates,
    };
  };
  if (maxIns === 0 || !sc.prepare(parent, hidden, active)) return result(Number.NaN, Number.NaN, 0);
  const scoreBefore = sc.score();
  let score = scoreBefore;
  const sigma2 = scoreBefore / (T * Math.max(1, sc.metered));
  let tried = 0;
  const cand = new Int32Array(M);
  const nb: number[] = [];
  const S: number[] = [];
  while (active < M && sigma2 > 0) {
    const h = active;
    const kids: number[][] = Array.from({ length: active }, () => []);
    for (let j = 0; j < active; j++) if (parent[j]! >= 0) kids[parent[j]!]!.push(j);
    let best: { a: number; S: number[]; score: number } | undefined;
    let nCand = 0;
    for (let a = 0; a < active; a++) {
      nb.length = 0;
      nb.push(...kids[a]!);
      for (const c of kids[a]!) nb.push(...kids[c]!);
      const L = Math.min(nb.length, maxNb);
      if (L < 2) continue;
      for (let mask = 1; mask < 1 << L; mask++) {
        if ((mask & (mask - 1)) === 0) continue;
        cand.set(parent);
        cand[h] = a;
        S.length = 0;
        for (let k = 0; k < L; k++)
          if (mask & (1 << k)) {
            cand[nb[k]!] = h;
            S.push(nb[k]!);
          }
        const s = sc.candidate(parent, cand, hidden, active, h, a, S);
        nCand++;
        if (Number.isFinite(s) && (!best || s < best.score)) best = { a, S: [...S], score: s };
      }
    }
    tried += nCand;
    if (!best) break;
    const gain = (score - best.score) / sigma2;
    // The best of nCand likelihood-ratio statistics (χ²₂ each under "no junction": P(gain > c) = e^(−c/2)) exceeds
    // 2 ln(nCand / α) with probability at most α.
    const penalty = 2 * Math.log(Math.max(1, nCand) / (opts.significance ?? 0.01)) + (opts.extraPenalty ?? 0);
    if (!(gain > penalty)) break;
    cand.set(parent);
    parent[h] = best.a;
    for (const s of best.S) parent[s] = h;
    hidden[h] = 1;
    active++;
    if (!sc.prepare(parent, hidden, active)) {
      // Not expected for a candidate that scored finite: undo and stop.
      active--;
      hidden[h] = 0;
      parent.set(cand);
      sc.prepare(parent, hidden, active);
      break;
    }
    junctions.push({ bus: h, parent: best.a, children: best.S, gain, penalty, r: sc.r[h]!, x: sc.x[h]! });
    if (opts.recorrect) {
      const vm = magnitudes(estimate());
      const ext: MeterSeries = {
        ...data,
        busNames: [...data.busNames, ...vm.map((_, i) => `\u0000hidden${i}`)],
        vm: [...data.vm, ...vm],
        p: [...data.p, ...vm.map(() => new Float64Array(T))],
        q: [...data.q, ...vm.map(() => new Float64Array(T))],
      };
      const next = vm.every((s) => s.every((v) => v > 0.5 && v < 1.5))
        ? opts.recorrect(ext, parent.slice(0, active))
        : undefined;
      if (next) {
        correction = next;
        load(correction);
        if (!sc.prepare(parent, hidden, active)) break;
      }
    }
    score = sc.score();
  }
  return result(scoreBefore, score, tried);
}

/** An inserted hidden junction as the model reports it. */
export interface HiddenJunction {
  /** Its name: the unmetered bus when only one is unmetered, else a placeholder "hidden-1", "hidden-2", … */
  readonly bus: string;
  readonly parent: string;
  readonly children: readonly string[];
  /** The unmetered buses it can be (the data do not tell which). */
  readonly candidates: readonly string[];
  /** Log-likelihood gain of the insertion (half the decrease of −2 log L) and the threshold it passed. */
  readonly margin: number;
  readonly threshold: number;
  readonly note: string;
}

/**
 * Stage 1b: hidden junctions on the identified tree of metered buses, with the loss correction redone after every
 * insertion. Returns the series and tree extended by the junctions (|V| estimated, P = Q = 0), or undefined when
 * nothing is inserted.
 */
export function identifyHiddenJunctions(
  data: MeterSeries,
  parent: Int32Array,
  unmetered: readonly string[],
  opts: Omit<HiddenJunctionOptions, "maxInsertions" | "correction" | "recorrect"> = {},
): { data: MeterSeries; parent: Int32Array; junctions: HiddenJunction[] } | undefined {
  const maxInsertions = unmetered.length;
  if (maxInsertions === 0) return undefined;
  const corr = lossCorrection(data, parent);
  const r = insertHiddenJunctions(data, parent, {
    ...opts,
    maxInsertions,
    ...(corr ? { correction: corr } : {}),
    recorrect: lossCorrection,
  });
  // The estimated series are per-unit voltages like the measured ones (a failed fit would not be).
  if (r.junctions.length === 0 || !r.vm.every((s) => s.every((v) => v > 0.5 && v < 1.5))) return undefined;
  const taken = new Set(data.busNames);
  const nm: string[] = [];
  if (unmetered.length === 1) nm.push(unmetered[0]!);
  else
    for (let i = 1; nm.length < r.junctions.length; i++)
      if (!taken.has(`hidden-${i}`)) nm.push(`hidden-${i}`);
  const T = data.samples;
  const ext: MeterSeries = {
    ...data,
    busNames: [...data.busNames, ...nm],
    vm: [...data.vm, ...r.vm],
    p: [...data.p, ...r.vm.map(() => new Float64Array(T))],
    q: [...data.q, ...r.vm.map(() => new Float64Array(T))],
  };
  const all = ext.busNames;
  const junctions = r.junctions.map((j, i) => ({
    bus: nm[i]!,
    parent: all[r.parent[j.bus]!]!,
    children: all.filter((_, k) => r.parent[k] === j.bus),
    candidates: [...unmetered],
    margin: j.gain / 2,
    threshold: j.penalty / 2,
    note:
      unmetered.length === 1
        ? `the flows of its children share the drop of one branch: the unmetered bus ${unmetered[0]} is a junction`
        : `the flows of its children share the drop of one branch: one of the unmetered buses (${cappedList(unmetered, 8)}) is a junction here; which one the data do not tell`,
  }));
  return { data: ext, parent: r.parent, junctions };
}
