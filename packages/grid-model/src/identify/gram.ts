import { interpolateMissing, MeterDataError, type MeterSeries } from "./meter-data.js";

/**
 * The per-bus series stage 1 works on, and their Gram matrix.
 *
 * Basis (K = 3N series over the samples): w_k = v_k − v_0 − dv_k (squared magnitudes, minus the loss correction),
 * then the loads p_k + dp_k and q_k + dq_k (the substation's own p/q are zero). Every quantity of stage 1 — the
 * sensitivity regression, the tree likelihood, the joint impedance fit — is linear in these series, so it depends
 * on the data only through their K × K Gram matrix (and their means). Forming it is the only step whose cost grows
 * with the number of samples T (O(T·K²/2)); everything after it is independent of T.
 * See docs/identification.md, "Everything through one Gram matrix".
 */

/** Per-sample additive corrections on a tree (from stage 2 with LS): losses into p/q, Σ|z|²ℓ out of v − v0. */
export interface SeriesCorrection {
  readonly dp: readonly Float64Array[];
  readonly dq: readonly Float64Array[];
  readonly dv: readonly Float64Array[];
}

/** The Gram matrix of the basis series and what the searches need besides it (from `seriesGram`). */
export interface SeriesGram {
  /** Number of buses N (basis size K = 3N). */
  readonly N: number;
  /** Samples the sums run over. */
  readonly samples: number;
  /** Uncentred Gram matrix Σ_t b_a(t) b_b(t), row-major K × K. */
  readonly G: Float64Array;
  /** Means of the basis series over the samples. */
  readonly mean: Float64Array;
  /** max − min of each measured load series (before corrections): a load that never varies is not a regressor. */
  readonly range: Float64Array;
}

/** The basis series (interpolated in time where readings are missing), K arrays of length T. */
export function basisSeries(
  data: MeterSeries,
  corr?: SeriesCorrection,
): { basis: Float64Array[]; range: Float64Array } {
  const N = data.busNames.length;
  const T = data.samples;
  const v0 = interpolateMissing(data.vm[data.root]!);
  if (Number.isNaN(v0[0]!))
    throw new MeterDataError(`substation bus ${data.busNames[data.root]} has no voltage reading`);
  const basis: Float64Array[] = [];
  const range = new Float64Array(3 * N);
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
  for (const [block, src, d] of [
    [1, data.p, corr?.dp],
    [2, data.q, corr?.dq],
  ] as const) {
    for (let k = 0; k < N; k++) {
      const s = interpolateMissing(src[k]!);
      if (Number.isNaN(s[0]!)) throw new MeterDataError(`bus ${data.busNames[k]} has no p/q reading at all`);
      if (k === data.root) s.fill(0); // the substation's own series is not a load
      let lo = Infinity;
      let hi = -Infinity;
      for (let t = 0; t < T; t++) {
        lo = Math.min(lo, s[t]!);
        hi = Math.max(hi, s[t]!);
      }
      range[block * N + k] = hi - lo;
      const dk = d?.[k];
      if (dk && k !== data.root) for (let t = 0; t < T; t++) s[t] = s[t]! + dk[t]!;
      basis.push(s);
    }
  }
  return { basis, range };
}

/** Gram matrix and means of the basis series (optionally over a subset of samples). */
export function seriesGram(data: MeterSeries, corr?: SeriesCorrection, rows?: Int32Array): SeriesGram {
  const N = data.busNames.length;
  const { basis, range } = basisSeries(data, corr);
  if (rows) for (const x of basis) for (let r = 0; r < rows.length; r++) x[r] = x[rows[r]!]!;
  const len = rows ? rows.length : data.samples;
  return { N, samples: len, G: gramOf(basis, len), mean: meansOf(basis, len), range };
}

function meansOf(basis: readonly Float64Array[], len: number): Float64Array {
  return Float64Array.from(basis, (x) => {
    let s = 0;
    for (let t = 0; t < len; t++) s += x[t]!;
    return s / Math.max(1, len);
  });
}

/** Samples per block of gramOf: all K series of a block stay in cache while every pair is summed over it. */
const GRAM_BLOCK = 512;

/**
 * Σ_t x_a(t) x_b(t) for all pairs, two rows by four columns per pass (each loaded sample serves two or four
 * products; the one O(T·K²) loop of stage 1). The samples are taken in blocks, each pair's running sum carried over
 * from block to block, so every sum adds the same products in the same order as one pass over all samples would
 * (the result does not depend on the blocking) while a block of all series stays in the cache.
 */
export function gramOf(basis: readonly Float64Array[], len: number): Float64Array {
  const K = basis.length;
  const G = new Float64Array(K * K);
  for (let t0 = 0; t0 < len; t0 += GRAM_BLOCK) {
    const t1 = Math.min(len, t0 + GRAM_BLOCK);
    let a = 0;
    for (; a + 1 < K; a += 2) {
      const x0 = basis[a]!;
      const x1 = basis[a + 1]!;
      const r0 = a * K;
      const r1 = r0 + K;
      let b = a;
      for (; b + 3 < K; b += 4) {
        const y0 = basis[b]!;
        const y1 = basis[b + 1]!;
        const y2 = basis[b + 2]!;
        const y3 = basis[b + 3]!;
        let s00 = G[r0 + b]!;
        let s01 = G[r0 + b + 1]!;
        let s02 = G[r0 + b + 2]!;
        let s03 = G[r0 + b + 3]!;
        let s10 = G[r1 + b]!;
        let s11 = G[r1 + b + 1]!;
        let s12 = G[r1 + b + 2]!;
        let s13 = G[r1 + b + 3]!;
        for (let t = t0; t < t1; t++) {
          const u = x0[t]!;
          const w = x1[t]!;
          const v0 = y0[t]!;
          const v1 = y1[t]!;
          const v2 = y2[t]!;
          const v3 = y3[t]!;
          s00 += u * v0;
          s01 += u * v1;
          s02 += u * v2;
          s03 += u * v3;
          s10 += w * v0;
          s11 += w * v1;
          s12 += w * v2;
          s13 += w * v3;
        }
        G[r0 + b] = s00;
        G[r0 + b + 1] = s01;
        G[r0 + b + 2] = s02;
        G[r0 + b + 3] = s03;
        G[r1 + b] = s10;
        G[r1 + b + 1] = s11;
        G[r1 + b + 2] = s12;
        G[r1 + b + 3] = s13;
      }
      for (; b < K; b++) {
        const y = basis[b]!;
        let s0 = G[r0 + b]!;
        let s1 = G[r1 + b]!;
        for (let t = t0; t < t1; t++) {
          s0 += x0[t]! * y[t]!;
          s1 += x1[t]! * y[t]!;
        }
        G[r0 + b] = s0;
        G[r1 + b] = s1;
      }
    }
    if (a < K) {
      const x = basis[a]!;
      const y = x;
      let s = G[a * K + a]!;
      for (let t = t0; t < t1; t++) s += x[t]! * y[t]!;
      G[a * K + a] = s;
    }
  }
  for (let a = 0; a < K; a++) for (let b = a + 1; b < K; b++) G[b * K + a] = G[a * K + b]!;
  return G;
}
