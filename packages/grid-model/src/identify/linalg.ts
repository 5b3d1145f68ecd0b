/**
 * Small dense linear algebra on column-major Float64Arrays: Householder QR least squares with
 * many right-hand sides, triangular inverse, Gauss-Jordan inverse. Tuned for the stage-1
 * regression (T up to ~10^5 rows, k ~ 2n+1 <= ~200 columns), where ml-matrix's QR would
 * allocate per element.
 */

export class SingularMatrixError extends Error {
  override readonly name = "SingularMatrixError";
}

export interface QrLeastSquares {
  /** Coefficients, column-major k x m (column j = fit of output j). */
  readonly beta: Float64Array;
  /** Residual sum of squares per output. */
  readonly rss: Float64Array;
  /** diag((A^T A)^-1), for coefficient standard errors: se_ij = sqrt(rss_j / (T - k) * diagInv_i). */
  readonly diagInv: Float64Array;
  /** max |R_ii| / min |R_ii|: a cheap lower-bound proxy of cond(A). */
  readonly condEstimate: number;
}

/**
 * Solves min ||A B - Y||_F by Householder QR (no normal equations: cond(A)^2 would hurt the
 * nearly collinear P/Q designs). A is rows x k column-major and is overwritten; Y is rows x m
 * column-major and is overwritten with Q^T Y.
 */
export function qrLeastSquares(
  A: Float64Array,
  rows: number,
  k: number,
  Y: Float64Array,
  m: number,
): QrLeastSquares {
  if (rows < k) throw new SingularMatrixError(`least squares needs at least ${k} rows, got ${rows}`);
  const rdiag = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const cj = j * rows;
    let norm = 0;
    for (let i = j; i < rows; i++) norm += A[cj + i]! * A[cj + i]!;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new SingularMatrixError(`column ${j} is zero (a regressor without variation)`);
    const alpha = A[cj + j]! > 0 ? -norm : norm;
    // v = x - alpha e1 stored in place; H = I - 2 v v^T / (v^T v).
    A[cj + j] = A[cj + j]! - alpha;
    let vtv = 0;
    for (let i = j; i < rows; i++) vtv += A[cj + i]! * A[cj + i]!;
    rdiag[j] = alpha;
    if (vtv === 0) continue;
    const scale = 2 / vtv;
    for (let c = j + 1; c < k; c++) {
      const cc = c * rows;
      let dot = 0;
      for (let i = j; i < rows; i++) dot += A[cj + i]! * A[cc + i]!;
      const f = dot * scale;
      for (let i = j; i < rows; i++) A[cc + i] = A[cc + i]! - f * A[cj + i]!;
    }
    for (let c = 0; c < m; c++) {
      const cc = c * rows;
      let dot = 0;
      for (let i = j; i < rows; i++) dot += A[cj + i]! * Y[cc + i]!;
      const f = dot * scale;
      for (let i = j; i < rows; i++) Y[cc + i] = Y[cc + i]! - f * A[cj + i]!;
    }
  }
  let maxD = 0;
  let minD = Infinity;
  for (let j = 0; j < k; j++) {
    const a = Math.abs(rdiag[j]!);
    maxD = Math.max(maxD, a);
    minD = Math.min(minD, a);
  }
  if (minD <= maxD * 1e-14)
    throw new SingularMatrixError("regressors are linearly dependent (rank deficient design)");
  // R: strict upper part in A (rows < j of column j), diagonal in rdiag.
  const R = (i: number, j: number) => (i === j ? rdiag[i]! : A[j * rows + i]!);
  const beta = new Float64Array(k * m);
  const rss = new Float64Array(m);
  for (let c = 0; c < m; c++) {
    const yc = c * rows;
    for (let i = k - 1; i >= 0; i--) {
      let s = Y[yc + i]!;
      for (let j = i + 1; j < k; j++) s -= R(i, j) * beta[c * k + j]!;
      beta[c * k + i] = s / rdiag[i]!;
    }
    let r = 0;
    for (let i = k; i < rows; i++) r += Y[yc + i]! * Y[yc + i]!;
    rss[c] = r;
  }
  // (A^T A)^-1 = R^-1 R^-T; its diagonal = squared row norms of R^-1.
  const Rinv = new Float64Array(k * k); // row-major upper triangular
  for (let j = 0; j < k; j++) {
    Rinv[j * k + j] = 1 / rdiag[j]!;
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let l = i + 1; l <= j; l++) s += R(i, l) * Rinv[l * k + j]!;
      Rinv[i * k + j] = -s / rdiag[i]!;
    }
  }
  const diagInv = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let j = i; j < k; j++) s += Rinv[i * k + j]! ** 2;
    diagInv[i] = s;
  }
  return { beta, rss, diagInv, condEstimate: maxD / minD };
}

/** Inverse of a dense n x n row-major matrix by Gauss-Jordan with partial pivoting. */
export function invert(M: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(M);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[piv * n + c]!)) piv = r;
    const pv = a[piv * n + c]!;
    if (pv === 0 || !Number.isFinite(pv)) throw new SingularMatrixError("matrix is singular");
    if (piv !== c) {
      for (let j = 0; j < n; j++) {
        const t = a[c * n + j]!;
        a[c * n + j] = a[piv * n + j]!;
        a[piv * n + j] = t;
        const u = inv[c * n + j]!;
        inv[c * n + j] = inv[piv * n + j]!;
        inv[piv * n + j] = u;
      }
    }
    const s = 1 / pv;
    for (let j = 0; j < n; j++) {
      a[c * n + j] = a[c * n + j]! * s;
      inv[c * n + j] = inv[c * n + j]! * s;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c]!;
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[r * n + j] = a[r * n + j]! - f * a[c * n + j]!;
        inv[r * n + j] = inv[r * n + j]! - f * inv[c * n + j]!;
      }
    }
  }
  return inv;
}

/** Solves a small symmetric positive (semi)definite system by Gaussian elimination; returns undefined if singular. */
export function solveSmall(M: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const a = M.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[piv]![c]!)) piv = r;
    if (Math.abs(a[piv]![c]!) < 1e-300) return undefined;
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let j = c; j <= n; j++) a[r]![j] = a[r]![j]! - f * a[c]![j]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = a[i]![n]!;
    for (let j = i + 1; j < n; j++) s -= a[i]![j]! * x[j]!;
    x[i] = s / a[i]![i]!;
  }
  return x.every(Number.isFinite) ? x : undefined;
}

/** Weighted median of values (weights >= 0): the minimiser of sum w_i |v_i - m|. */
export function weightedMedian(values: Float64Array, weights: Float64Array, n = values.length): number {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => values[a]! - values[b]!);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += weights[idx[i]!]!;
    if (acc >= total / 2) return values[idx[i]!]!;
  }
  return n > 0 ? values[idx[n - 1]!]! : Number.NaN;
}
