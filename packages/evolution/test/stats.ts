/** Test helpers: chi-square statistic and an upper critical value (Wilson–Hilferty, p ≈ 0.001). */
export function chiSquare(
  observed: ArrayLike<number>,
  expected: ArrayLike<number>,
): { stat: number; df: number } {
  // Pool bins with small expectation so the asymptotic law holds.
  let stat = 0;
  let df = -1;
  let o = 0;
  let e = 0;
  for (let i = 0; i < observed.length; i++) {
    o += observed[i];
    e += expected[i];
    if (e >= 5) {
      stat += ((o - e) * (o - e)) / e;
      df++;
      o = 0;
      e = 0;
    }
  }
  if (e > 0) {
    stat += ((o - e) * (o - e)) / e;
    df++;
  }
  return { stat, df };
}

export function chiSquareCritical(df: number, z = 3.09): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

export function binomialPmf(n: number, p: number): Float64Array {
  const out = new Float64Array(n + 1);
  let logC = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    out[k] = Math.exp(logC + k * Math.log(p) + (n - k) * Math.log1p(-p));
  }
  return out;
}
