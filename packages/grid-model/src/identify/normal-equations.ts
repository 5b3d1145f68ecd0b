import { CholeskyDecomposition, Matrix } from "ml-matrix";

/**
 * Small symmetric positive definite solves (2 × 2 … a few hundred) through ml-matrix, the package's one
 * linear-algebra layer. The regressions of this package are all formed as normal equations of column-scaled
 * designs: their condition numbers stay far below 1e8, so squaring them costs no accuracy that matters next to
 * meter noise, and the data enter once, through O(T) sums.
 */

/**
 * LS of y on two regressors from its sums (aa = Σa², ab = Σab, bb = Σb², ya = Σya, yb = Σyb) into out = (β1, β2).
 * Collinear regressors give the fit on the first alone. With `nonNegative`, a negative coefficient is replaced by
 * the better of the two one-regressor fits on the boundary (gain = β·c − ½ βᵀAβ), or zero.
 */
export function fitTwoRegressors(
  aa: number,
  ab: number,
  bb: number,
  ya: number,
  yb: number,
  nonNegative: boolean,
  out: Float64Array,
): void {
  let b1 = 0;
  let b2 = 0;
  const det = aa * bb - ab * ab;
  if (det > 1e-12 * aa * bb && aa > 0) {
    b1 = (bb * ya - ab * yb) / det;
    b2 = (aa * yb - ab * ya) / det;
  } else if (aa > 0) {
    b1 = ya / aa;
  }
  if (nonNegative && (b1 < 0 || b2 < 0)) {
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
  out[0] = b1;
  out[1] = b2;
}

/** Solves M z = b for symmetric positive definite M (row arrays); undefined when M is (numerically) singular. */
export function solveSpd(M: readonly (readonly number[])[], b: readonly number[]): number[] | undefined {
  const n = b.length;
  // Equilibrate: D M D with D = diag(1/√M_ii) keeps the pivot test scale-free.
  const d = M.map((row, i) => (row[i]! > 0 ? 1 / Math.sqrt(row[i]!) : Number.NaN));
  if (!d.every(Number.isFinite)) return undefined;
  const A = new Matrix(n, n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const v = 0.5 * (M[i]![j]! + M[j]![i]!) * d[i]! * d[j]!;
      A.set(i, j, v);
      A.set(j, i, v);
    }
  const chol = new CholeskyDecomposition(A);
  if (!chol.isPositiveDefinite()) return undefined;
  const L = chol.lowerTriangularMatrix;
  for (let i = 0; i < n; i++) if (!(L.get(i, i) > 1e-7)) return undefined;
  const z = chol.solve(Matrix.columnVector(b.map((v, i) => v * d[i]!)));
  const out = Array.from({ length: n }, (_, i) => z.get(i, 0) * d[i]!);
  return out.every(Number.isFinite) ? out : undefined;
}

/** Weighted least squares of y on the columns X (each length T) with weights u (default 1): the coefficients. */
export function weightedLeastSquares(
  X: readonly Float64Array[],
  y: Float64Array,
  u?: Float64Array,
): number[] | undefined {
  const p = X.length;
  const T = y.length;
  const M = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const b = new Array<number>(p).fill(0);
  for (let i = 0; i < p; i++) {
    const xi = X[i]!;
    for (let j = i; j < p; j++) {
      const xj = X[j]!;
      let s = 0;
      if (u) for (let t = 0; t < T; t++) s += u[t]! * xi[t]! * xj[t]!;
      else for (let t = 0; t < T; t++) s += xi[t]! * xj[t]!;
      M[i]![j] = s;
      M[j]![i] = s;
    }
    let s = 0;
    if (u) for (let t = 0; t < T; t++) s += u[t]! * xi[t]! * y[t]!;
    else for (let t = 0; t < T; t++) s += xi[t]! * y[t]!;
    b[i] = s;
  }
  return solveSpd(M, b);
}
