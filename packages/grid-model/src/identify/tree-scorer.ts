import { fitTwoRegressors } from "./normal-equations.js";

/**
 * The tree likelihood of stage 1 evaluated from the Gram matrix of the basis series (see gram.ts): full
 * evaluation of a tree in O(N·K), and the change of the score under a local move in O(|D|·K), where D are the
 * buses whose branch changes (the moved buses and their old and new ancestors below their lowest common ancestor).
 *
 * For a tree, every branch e (into bus e, parent i) gets the no-intercept LS fit of y_e = w_i − w_e on the subtree
 * sums A_e = Σ_{m∈sub(e)} p_m, B_e = Σ q_m (with r, x ≥ 0 unless disabled), residual res_e; U_k = Σ_{e∈path(k)} res_e
 * and score = Σ_k ‖U_k‖² − ‖Σ_k U_k‖² / N. Series are coefficient vectors over the K = 3N basis, ‖u‖² = uᵀGu.
 * Derivation of the incremental form: docs/identification.md, "Scoring a move".
 */
export class TreeScorer {
  readonly K: number;
  // Current tree.
  private readonly par: Int32Array;
  private readonly kidsHead: Int32Array;
  private readonly kidsNext: Int32Array;
  private readonly order: Int32Array;
  private readonly depth: Int32Array;
  private readonly post: Int32Array;
  private readonly subStart: Int32Array;
  private readonly postPos: Int32Array;
  private readonly size: Int32Array;
  private readonly Ga: Float64Array;
  private readonly Gb: Float64Array;
  private readonly Uc: Float64Array;
  private readonly GU: Float64Array;
  private readonly GSU: Float64Array;
  private readonly gSigma: Float64Array;
  private readonly cSigma: Float64Array;
  private current = Number.POSITIVE_INFINITY;
  // Scratch of the incremental evaluation, one slot per dirty bus.
  private readonly slot: Int32Array;
  private readonly slotStamp: Int32Array;
  private readonly movedStamp: Int32Array;
  private readonly depStamp: Int32Array;
  private readonly dep: Int32Array;
  private stamp = 0;
  private readonly dList: Int32Array;
  private readonly kidList: Int32Array;
  private readonly kidStart: Int32Array;
  private readonly GaN: Float64Array;
  private readonly GbN: Float64Array;
  private readonly UcN: Float64Array;
  private readonly GUN: Float64Array;
  private readonly sizeN: Int32Array;
  private readonly dC: Float64Array;
  private readonly dG: Float64Array;
  private readonly stack: Int32Array;
  private readonly seen: Uint8Array;
  private readonly members: Int32Array;
  private readonly gSum: Float64Array;

  constructor(
    private readonly G: Float64Array,
    private readonly N: number,
    private readonly root: number,
    private readonly nonNegative = true,
  ) {
    const K = 3 * N;
    this.K = K;
    const i32 = () => new Int32Array(N);
    const f64 = (m: number) => new Float64Array(m);
    this.par = i32();
    this.kidsHead = i32();
    this.kidsNext = i32();
    this.order = i32();
    this.depth = i32();
    this.post = i32();
    this.subStart = i32();
    this.postPos = i32();
    this.size = i32();
    this.Ga = f64(N * K);
    this.Gb = f64(N * K);
    this.Uc = f64(N * K);
    this.GU = f64(N * K);
    this.GSU = f64(N * K);
    this.gSigma = f64(K);
    this.cSigma = f64(K);
    this.slot = i32();
    this.slotStamp = i32();
    this.movedStamp = i32();
    this.depStamp = i32();
    this.dep = i32();
    this.dList = i32();
    this.kidList = new Int32Array(2 * N);
    this.kidStart = new Int32Array(N + 1);
    this.GaN = f64(N * K);
    this.GbN = f64(N * K);
    this.UcN = f64(N * K);
    this.GUN = f64(N * K);
    this.sizeN = i32();
    this.dC = f64(K);
    this.dG = f64(K);
    this.stack = new Int32Array(2 * N + 2);
    this.seen = new Uint8Array(N);
    this.members = new Int32Array(N);
    this.gSum = new Float64Array(K);
  }

  /** Score of the current tree (after setTree). */
  get score(): number {
    return this.current;
  }

  /** The current tree's parent array (do not modify). */
  get parent(): Int32Array {
    return this.par;
  }

  /** Children of bus k in the current tree. */
  *children(k: number): Generator<number> {
    for (let c = this.kidsHead[k]!; c >= 0; c = this.kidsNext[c]!) yield c;
  }

  /** True when b lies in the subtree of a (a itself included) in the current tree. */
  inSubtree(a: number, b: number): boolean {
    const p = this.postPos[b]!;
    return p >= this.subStart[a]! && p <= this.postPos[a]!;
  }

  /** Non-negative 2-regressor LS (r, x ≥ 0): a negative impedance is how a wrong orientation fits a voltage rise. */
  private fit(aa: number, ab: number, bb: number, ya: number, yb: number, out: Float64Array): void {
    fitTwoRegressors(aa, ab, bb, ya, yb, this.nonNegative, out);
  }

  private readonly beta = new Float64Array(2);

  /** Makes `parent` the current tree and returns its score; Infinity (state unchanged) if it is not a tree. */
  setTree(parent: Int32Array): number {
    const { N, K, G, root, kidsHead, kidsNext, order, depth, post, subStart, postPos, size } = this;
    const { Ga, Gb, Uc, GU, GSU } = this;
    for (let j = 0; j < N; j++) {
      if (j === root) continue;
      const p = parent[j]!;
      if (p < 0 || p >= N || p === j) return Number.POSITIVE_INFINITY;
    }
    kidsHead.fill(-1);
    for (let j = N - 1; j >= 0; j--) {
      if (j === root) continue;
      const p = parent[j]!;
      kidsNext[j] = kidsHead[p]!;
      kidsHead[p] = j;
    }
    let tail = 0;
    order[tail++] = root;
    depth[root] = 0;
    for (let h = 0; h < tail; h++) {
      const u = order[h]!;
      for (let c = kidsHead[u]!; c >= 0; c = kidsNext[c]!) {
        depth[c] = depth[u]! + 1;
        order[tail++] = c;
      }
    }
    if (tail !== N) return Number.POSITIVE_INFINITY; // a cycle: some buses unreachable
    this.par.set(parent);
    this.par[root] = -1;
    // Post-order: subtree of k = post[subStart[k] .. postPos[k]].
    let pc = 0;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = root;
    const seen = this.seen;
    seen.fill(0);
    while (sp > 0) {
      const k = stack[sp - 1]!;
      if (!seen[k]) {
        seen[k] = 1;
        subStart[k] = pc;
        for (let c = kidsHead[k]!; c >= 0; c = kidsNext[c]!) stack[sp++] = c;
      } else {
        sp--;
        postPos[k] = pc;
        post[pc++] = k;
      }
    }
    // Leaves first: G·A_k, G·B_k and subtree sizes.
    for (let h = N - 1; h >= 1; h--) {
      const k = order[h]!;
      const o = k * K;
      Ga.set(G.subarray((N + k) * K, (N + k + 1) * K), o);
      Gb.set(G.subarray((2 * N + k) * K, (2 * N + k + 1) * K), o);
      let s = 1;
      for (let c = kidsHead[k]!; c >= 0; c = kidsNext[c]!) {
        const oc = c * K;
        for (let m = 0; m < K; m++) {
          Ga[o + m] += Ga[oc + m]!;
          Gb[o + m] += Gb[oc + m]!;
        }
        s += size[c]!;
      }
      size[k] = s;
    }
    size[root] = N;
    Uc.fill(0, root * K, root * K + K);
    GU.fill(0, root * K, root * K + K);
    let sumUU = 0;
    const beta = this.beta;
    for (let h = 1; h < N; h++) {
      const k = order[h]!;
      const i = parent[k]!;
      const o = k * K;
      const oi = i * K;
      let aa = 0;
      let ab = 0;
      let bb = 0;
      for (let s = subStart[k]!; s <= postPos[k]!; s++) {
        const m = post[s]!;
        aa += Ga[o + N + m]!;
        ab += Gb[o + N + m]!;
        bb += Gb[o + 2 * N + m]!;
      }
      this.fit(aa, ab, bb, Ga[o + i]! - Ga[o + k]!, Gb[o + i]! - Gb[o + k]!, beta);
      const b1 = beta[0]!;
      const b2 = beta[1]!;
      const gi = i * K;
      const gk = k * K;
      for (let m = 0; m < K; m++) {
        Uc[o + m] = Uc[oi + m]!;
        GU[o + m] = GU[oi + m]! + G[gi + m]! - G[gk + m]! - b1 * Ga[o + m]! - b2 * Gb[o + m]!;
      }
      Uc[o + i] += 1;
      Uc[o + k] -= 1;
      for (let s = subStart[k]!; s <= postPos[k]!; s++) {
        const m = post[s]!;
        Uc[o + N + m] -= b1;
        Uc[o + 2 * N + m] -= b2;
      }
      let q = 0;
      for (let m = 0; m < K; m++) q += Uc[o + m]! * GU[o + m]!;
      sumUU += q;
    }
    // Subtree sums of G·U (for the incremental evaluation) and the totals.
    for (let h = N - 1; h >= 0; h--) {
      const k = order[h]!;
      const o = k * K;
      if (k === root) GSU.fill(0, o, o + K);
      else GSU.set(GU.subarray(o, o + K), o);
      for (let c = kidsHead[k]!; c >= 0; c = kidsNext[c]!) {
        const oc = c * K;
        for (let m = 0; m < K; m++) GSU[o + m] += GSU[oc + m]!;
      }
    }
    const { gSigma, cSigma } = this;
    gSigma.set(GSU.subarray(root * K, root * K + K));
    cSigma.fill(0);
    for (let k = 0; k < N; k++) {
      if (k === root) continue;
      const o = k * K;
      for (let m = 0; m < K; m++) cSigma[m] += Uc[o + m]!;
    }
    let common = 0;
    for (let m = 0; m < K; m++) common += cSigma[m]! * gSigma[m]!;
    this.current = sumUU - common / N;
    return this.current;
  }

  /** Score of an arbitrary parent array without changing the current tree (O(N·K)). */
  scoreOf(parent: Int32Array): number {
    const keep = Int32Array.from(this.par);
    const s = this.setTree(parent);
    if (Number.isFinite(this.current)) this.setTree(keep);
    return s;
  }

  /**
   * Change of the score when the current tree's parents are replaced by `cand` (which differs from the current
   * tree only at the buses listed in moved[0 .. nMoved)). +Infinity if cand is not a tree.
   */
  delta(cand: Int32Array, moved: Int32Array, nMoved: number): number {
    const { N, K, G, root, par, depth, kidsHead, kidsNext, post, subStart, postPos, size } = this;
    const { Ga, Gb, Uc, GU, GSU, slot, slotStamp, movedStamp, depStamp, dep, dList, kidList, kidStart } =
      this;
    const { GaN, GbN, UcN, GUN, sizeN, dC, dG, stack } = this;
    this.stamp++;
    const st = this.stamp;
    let nm = 0;
    for (let a = 0; a < nMoved; a++) {
      const m = moved[a]!;
      if (cand[m] === par[m] || movedStamp[m] === st) continue;
      const p = cand[m]!;
      if (p < 0 || p >= N || p === m || m === root) return Number.POSITIVE_INFINITY;
      movedStamp[m] = st;
      moved[nm++] = m;
    }
    if (nm === 0) return 0;
    // A cycle can only run through moved buses: every moved bus must reach the root.
    for (let a = 0; a < nm; a++) {
      let x = moved[a]!;
      let steps = 0;
      while (x !== root) {
        x = cand[x]!;
        if (++steps > N) return Number.POSITIVE_INFINITY;
      }
    }
    // L = lowest common ancestor (current tree) of the moved buses and their old and new parents.
    const lca = (a0: number, b0: number) => {
      let a = a0;
      let b = b0;
      while (depth[a]! > depth[b]!) a = par[a]!;
      while (depth[b]! > depth[a]!) b = par[b]!;
      while (a !== b) {
        a = par[a]!;
        b = par[b]!;
      }
      return a;
    };
    let L = moved[0]!;
    for (let a = 0; a < nm; a++) {
      const m = moved[a]!;
      L = lca(L, m);
      L = lca(L, par[m]!);
      L = lca(L, cand[m]!);
    }
    // D: buses below L on the old and the new root paths of the moved buses.
    let nd = 0;
    const add = (x: number) => {
      if (slotStamp[x] === st) return;
      slotStamp[x] = st;
      slot[x] = nd;
      dList[nd++] = x;
    };
    for (let a = 0; a < nm; a++) {
      const m = moved[a]!;
      for (let x = m; x !== L; x = par[x]!) add(x);
      let steps = 0;
      for (let x = m; x !== L; x = cand[x]!) {
        if (x === root || ++steps > N) return this.fallback(cand);
        add(x);
      }
    }
    // New depth below L, to order D parents-first in the candidate tree.
    const newDepth = (x0: number): number => {
      let x = x0;
      let sp = 0;
      while (x !== L && depStamp[x] !== st) {
        stack[sp++] = x;
        x = cand[x]!;
      }
      let d = x === L ? 0 : dep[x]!;
      while (sp > 0) {
        const y = stack[--sp]!;
        d++;
        dep[y] = d;
        depStamp[y] = st;
      }
      return d;
    };
    for (let s = 0; s < nd; s++) newDepth(dList[s]!);
    const ord = dList.subarray(0, nd);
    ord.sort((a, b) => dep[a]! - dep[b]!);
    for (let s = 0; s < nd; s++) slot[ord[s]!] = s;
    // Children in the candidate tree of each dirty bus: old children that did not move, plus the moved-in.
    let kc = 0;
    for (let s = 0; s < nd; s++) {
      const d = ord[s]!;
      kidStart[s] = kc;
      for (let c = kidsHead[d]!; c >= 0; c = kidsNext[c]!) if (movedStamp[c] !== st) kidList[kc++] = c;
      for (let a = 0; a < nm; a++) if (cand[moved[a]!] === d) kidList[kc++] = moved[a]!;
    }
    kidStart[nd] = kc;
    // Leaves first: G·A'_d, G·B'_d, sizes.
    for (let s = nd - 1; s >= 0; s--) {
      const d = ord[s]!;
      const o = s * K;
      GaN.set(G.subarray((N + d) * K, (N + d + 1) * K), o);
      GbN.set(G.subarray((2 * N + d) * K, (2 * N + d + 1) * K), o);
      let sz = 1;
      for (let e = kidStart[s]!; e < kidStart[s + 1]!; e++) {
        const c = kidList[e]!;
        const dc = slotStamp[c] === st;
        const src = dc ? slot[c]! * K : c * K;
        const A = dc ? GaN : Ga;
        const B = dc ? GbN : Gb;
        for (let m = 0; m < K; m++) {
          GaN[o + m] += A[src + m]!;
          GbN[o + m] += B[src + m]!;
        }
        sz += dc ? sizeN[slot[c]!]! : size[c]!;
      }
      sizeN[s] = sz;
    }
    // Members of the new subtree of slot s: dirty buses through the slots, clean subtrees as post-order ranges.
    const members = this.members;
    const collect = (s0: number): number => {
      let sp = 0;
      let nmem = 0;
      stack[sp++] = s0;
      while (sp > 0) {
        const s = stack[--sp]!;
        members[nmem++] = ord[s]!;
        for (let e = kidStart[s]!; e < kidStart[s + 1]!; e++) {
          const c = kidList[e]!;
          if (slotStamp[c] === st) stack[sp++] = slot[c]!;
          else for (let r = subStart[c]!; r <= postPos[c]!; r++) members[nmem++] = post[r]!;
        }
      }
      return nmem;
    };
    dC.fill(0);
    dG.fill(0);
    let dUU = 0;
    const beta = this.beta;
    const gSum = this.gSum;
    for (let s = 0; s < nd; s++) {
      const d = ord[s]!;
      const i = cand[d]!;
      const o = s * K;
      const nmem = collect(s);
      let aa = 0;
      let ab = 0;
      let bb = 0;
      for (let r = 0; r < nmem; r++) {
        const m = members[r]!;
        aa += GaN[o + N + m]!;
        ab += GbN[o + N + m]!;
        bb += GbN[o + 2 * N + m]!;
      }
      this.fit(aa, ab, bb, GaN[o + i]! - GaN[o + d]!, GbN[o + i]! - GbN[o + d]!, beta);
      const b1 = beta[0]!;
      const b2 = beta[1]!;
      const iDirty = slotStamp[i] === st;
      const baseU = iDirty ? UcN : Uc;
      const baseG = iDirty ? GUN : GU;
      const ob = (iDirty ? slot[i]! : i) * K;
      const gi = i * K;
      const gd = d * K;
      // Group of d: d and its clean children's subtrees, all shifted by ΔU_d; G·(Σ_{k∈grp} U_k) into gSum.
      let g = 1;
      gSum.set(GU.subarray(gd, gd + K));
      for (let e = kidStart[s]!; e < kidStart[s + 1]!; e++) {
        const c = kidList[e]!;
        if (slotStamp[c] === st) continue;
        g += size[c]!;
        const oc = c * K;
        for (let m = 0; m < K; m++) gSum[m] += GSU[oc + m]!;
      }
      UcN.set(baseU.subarray(ob, ob + K), o);
      UcN[o + i] += 1;
      UcN[o + d] -= 1;
      for (let r = 0; r < nmem; r++) {
        const m = members[r]!;
        UcN[o + N + m] -= b1;
        UcN[o + 2 * N + m] -= b2;
      }
      let cross = 0; // ⟨ΔU_d, Σ_{k∈grp} U_k⟩
      let own = 0; // ‖ΔU_d‖²
      // G·U'_d formed in the same pass that uses it (one sweep over K instead of two).
      for (let m = 0; m < K; m++) {
        const gun = baseG[ob + m]! + G[gi + m]! - G[gd + m]! - b1 * GaN[o + m]! - b2 * GbN[o + m]!;
        GUN[o + m] = gun;
        const du = UcN[o + m]! - Uc[gd + m]!;
        const dgu = gun - GU[gd + m]!;
        cross += du * gSum[m]!;
        own += du * dgu;
        dC[m] += g * du;
        dG[m] += g * dgu;
      }
      dUU += 2 * cross + g * own;
    }
    let dCommon = 0;
    for (let m = 0; m < K; m++) dCommon += dC[m]! * (2 * this.gSigma[m]! + dG[m]!);
    return dUU - dCommon / N;
  }

  /** Full evaluation when the incremental bookkeeping does not apply (should not happen for a valid tree). */
  private fallback(cand: Int32Array): number {
    const before = this.current;
    const s = this.scoreOf(cand);
    return s - before;
  }
}
