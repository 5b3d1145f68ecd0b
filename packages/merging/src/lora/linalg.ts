// Truncated SVD of a float32 matrix for LoRA extraction: randomized subspace iteration (Halko,
// Martinsson & Tropp 2011, Algorithm 4.4) on typed-array matrix products, with the small dense
// problems (symmetric eigen-decompositions of l×l Gram matrices, the final l×k SVD) solved by
// ml-matrix. Matrices below the sketch size go to ml-matrix's SVD directly. Accuracy and cost:
// docs/lora-extraction.md.
//
// All work matrices are row-major Float64Arrays; the input stays float32 and is only read.

import { Rng } from "@x/tensor-core";
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from "ml-matrix";

// The two products below are the only O(m·n·l) work. They take four rows of A at a time, so each row
// of X (or Q) is loaded once per four uses (about 2× faster than row by row in V8, measured).

/** Y = A·X for A [m, n] (float32) and X [n, l]: Y [m, l]. */
export function mulAX(a: Float32Array, m: number, n: number, x: Float64Array, l: number): Float64Array {
  const y = new Float64Array(m * l);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const y0 = i * l;
    const y1 = y0 + l;
    const y2 = y1 + l;
    const y3 = y2 + l;
    const a0 = i * n;
    for (let j = 0; j < n; j++) {
      const c0 = a[a0 + j];
      const c1 = a[a0 + n + j];
      const c2 = a[a0 + 2 * n + j];
      const c3 = a[a0 + 3 * n + j];
      const xo = j * l;
      for (let c = 0; c < l; c++) {
        const xv = x[xo + c];
        y[y0 + c] += c0 * xv;
        y[y1 + c] += c1 * xv;
        y[y2 + c] += c2 * xv;
        y[y3 + c] += c3 * xv;
      }
    }
  }
  for (; i < m; i++) {
    const yo = i * l;
    for (let j = 0; j < n; j++) {
      const aij = a[i * n + j];
      const xo = j * l;
      for (let c = 0; c < l; c++) y[yo + c] += aij * x[xo + c];
    }
  }
  return y;
}

/** Z = Aᵀ·Q for A [m, n] (float32) and Q [m, l]: Z [n, l] (A is read row by row). */
export function mulAtX(a: Float32Array, m: number, n: number, q: Float64Array, l: number): Float64Array {
  const z = new Float64Array(n * l);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const q0 = i * l;
    const q1 = q0 + l;
    const q2 = q1 + l;
    const q3 = q2 + l;
    const a0 = i * n;
    for (let j = 0; j < n; j++) {
      const c0 = a[a0 + j];
      const c1 = a[a0 + n + j];
      const c2 = a[a0 + 2 * n + j];
      const c3 = a[a0 + 3 * n + j];
      const zo = j * l;
      for (let c = 0; c < l; c++)
        z[zo + c] += c0 * q[q0 + c] + c1 * q[q1 + c] + c2 * q[q2 + c] + c3 * q[q3 + c];
    }
  }
  for (; i < m; i++) {
    const qo = i * l;
    for (let j = 0; j < n; j++) {
      const aij = a[i * n + j];
      const zo = j * l;
      for (let c = 0; c < l; c++) z[zo + c] += aij * q[qo + c];
    }
  }
  return z;
}

/** C = Y·W for Y [rows, l] and W [l, k]: C [rows, k]. */
export function mulSmall(y: Float64Array, rows: number, l: number, w: Float64Array, k: number): Float64Array {
  const c = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const co = i * k;
    for (let p = 0; p < l; p++) {
      const yip = y[i * l + p];
      if (yip === 0) continue;
      const wo = p * k;
      for (let j = 0; j < k; j++) c[co + j] += yip * w[wo + j];
    }
  }
  return c;
}

/** C = Pᵀ·W for P [rows, kp] and W [rows, k]: C [kp, k]. */
export function crossProduct(
  p: Float64Array,
  rows: number,
  kp: number,
  w: Float64Array,
  k: number,
): Float64Array {
  const c = new Float64Array(kp * k);
  for (let r = 0; r < rows; r++) {
    const po = r * kp;
    const wo = r * k;
    for (let i = 0; i < kp; i++) {
      const pri = p[po + i];
      if (pri === 0) continue;
      const co = i * k;
      for (let j = 0; j < k; j++) c[co + j] += pri * w[wo + j];
    }
  }
  return c;
}

/** G = Yᵀ·Y for Y [rows, l]: G [l, l] (symmetric). */
export function gram(y: Float64Array, rows: number, l: number): Float64Array {
  const g = new Float64Array(l * l);
  for (let i = 0; i < rows; i++) {
    const yo = i * l;
    for (let a = 0; a < l; a++) {
      const ya = y[yo + a];
      if (ya === 0) continue;
      const go = a * l;
      for (let b = a; b < l; b++) g[go + b] += ya * y[yo + b];
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) g[a * l + b] = g[b * l + a];
  return g;
}

/** Directions of a Gram matrix below this fraction of the largest eigenvalue are dropped (rank-deficient Y). */
const RELATIVE_EIGEN_FLOOR = 1e-14;

/** One Gram pass: W [l, k] with Y·W orthonormal on the numerically non-zero directions of Y. */
function gramWhitener(y: Float64Array, rows: number, l: number): { w: Float64Array; k: number } {
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(l, l, gram(y, rows, l)), {
    assumeSymmetric: true,
  });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const order = values.map((_, i) => i).sort((p, q) => values[q] - values[p]);
  const top = values[order[0]] ?? 0;
  const kept = order.filter((i) => values[i] > 0 && values[i] > top * RELATIVE_EIGEN_FLOOR);
  const k = kept.length;
  const w = new Float64Array(l * k);
  kept.forEach((col, j) => {
    const s = 1 / Math.sqrt(values[col]);
    for (let p = 0; p < l; p++) w[p * k + j] = vectors.get(p, col) * s;
  });
  return { w, k };
}

/**
 * An orthonormal basis Q [rows, k] of the column space of Y [rows, l] (k ≤ l: numerically dependent
 * columns are dropped). Two Gram passes ("CholeskyQR2" with an eigen-decomposition, so rank-deficient
 * Y works): after the second, ‖QᵀQ − I‖ is at rounding level.
 */
export function orthonormalize(y: Float64Array, rows: number, l: number): { q: Float64Array; k: number } {
  const first = gramWhitener(y, rows, l);
  const q1 = mulSmall(y, rows, l, first.w, first.k);
  if (first.k === 0) return { q: q1, k: 0 };
  const second = gramWhitener(q1, rows, first.k);
  return { q: mulSmall(q1, rows, first.k, second.w, second.k), k: second.k };
}

export interface TruncatedSvd {
  /** Left singular vectors U [m, k], row-major. */
  readonly u: Float64Array;
  /** Singular values, descending. */
  readonly s: Float64Array;
  /** Right singular vectors V [n, k], row-major (A ≈ U·diag(s)·Vᵀ). */
  readonly v: Float64Array;
  readonly k: number;
  /** "exact" (ml-matrix SVD of the whole matrix) or "randomized". */
  readonly method: "exact" | "randomized";
}

export interface SvdOptions {
  /** Extra sketch columns beyond the rank (default 16). */
  readonly oversample?: number;
  /** Power (subspace) iterations (default 2). */
  readonly powerIterations?: number;
  /** Seed of the Gaussian sketch (default 0); results depend only on it and the matrix. */
  readonly seed?: number | string;
}

/** The leading `rank` singular triplets of a small matrix in `svd` (ml-matrix), as a TruncatedSvd. */
function fromMlSvd(svd: SingularValueDecomposition, m: number, n: number, rank: number): TruncatedSvd {
  const all = svd.diagonal;
  const k = Math.min(rank, all.length);
  const u = new Float64Array(m * k);
  const v = new Float64Array(n * k);
  const left = svd.leftSingularVectors;
  const right = svd.rightSingularVectors;
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < m; i++) u[i * k + j] = left.get(i, j);
    for (let i = 0; i < n; i++) v[i * k + j] = right.get(i, j);
  }
  return { u, s: Float64Array.from(all.slice(0, k)), v, k, method: "exact" };
}

/**
 * The leading `rank` singular triplets of A [m, n] (float32, row-major). Exact (ml-matrix) when
 * min(m, n) is at most the sketch size rank + oversample; otherwise randomized subspace iteration:
 * Q = orth(A·Ω), q times Q = orth(A·orth(Aᵀ·Q)), then the SVD of Qᵀ·A (through an orthonormal basis P
 * of Aᵀ·Q, so only an l×k SVD is left for ml-matrix).
 */
export function truncatedSvd(
  a: Float32Array,
  m: number,
  n: number,
  rank: number,
  options: SvdOptions = {},
): TruncatedSvd {
  const oversample = options.oversample ?? 16;
  const iterations = options.powerIterations ?? 2;
  const small = Math.min(m, n);
  const l = Math.min(small, rank + oversample);
  if (small <= l) {
    const mat = new Matrix(m, n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) mat.set(i, j, a[i * n + j]);
    return fromMlSvd(new SingularValueDecomposition(mat, { autoTranspose: true }), m, n, rank);
  }
  const omega = new Float64Array(n * l);
  new Rng(`lora-sketch:${options.seed ?? 0}`).fillNormal(omega);
  let { q, k } = orthonormalize(mulAX(a, m, n, omega, l), m, l);
  for (let it = 0; it < iterations && k > 0; it++) {
    const z = orthonormalize(mulAtX(a, m, n, q, k), n, k);
    ({ q, k } = orthonormalize(mulAX(a, m, n, z.q, z.k), m, z.k));
  }
  if (k === 0)
    return {
      u: new Float64Array(0),
      s: new Float64Array(0),
      v: new Float64Array(0),
      k: 0,
      method: "randomized",
    };
  // B = Qᵀ·A = Wᵀ with W = Aᵀ·Q [n, k]; W = P·T (P [n, kp] orthonormal, T = Pᵀ·W [kp, k]);
  // Tᵀ [k, kp] = Ub·S·Vbᵀ  ⇒  A ≈ Q·B = (Q·Ub)·S·(P·Vb)ᵀ.
  const w = mulAtX(a, m, n, q, k);
  const p = orthonormalize(w, n, k);
  const t = crossProduct(p.q, n, p.k, w, k);
  const svd = new SingularValueDecomposition(Matrix.from1DArray(p.k, k, t).transpose(), {
    autoTranspose: true,
  });
  const inner = fromMlSvd(svd, k, p.k, rank);
  return {
    u: mulSmall(q, m, k, inner.u, inner.k),
    s: inner.s,
    v: mulSmall(p.q, n, p.k, inner.v, inner.k),
    k: inner.k,
    method: "randomized",
  };
}
