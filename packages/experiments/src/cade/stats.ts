/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export interface MeanCi {
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
  /** 95 % t interval of the mean. */
  readonly lo: number;
  readonly hi: number;
}

export function meanCi(xs: readonly number[]): MeanCi {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const t = n > 1 ? (T975[Math.min(n - 2, T975.length - 1)] ?? 1.96) : Number.NaN;
  const half = (t * sd) / Math.sqrt(n);
  return { n, mean, sd, lo: mean - half, hi: mean + half };
}

/** Mean paired difference a − b with its 95 % t interval. */
export function pairedDiff(a: readonly number[], b: readonly number[]): MeanCi {
  return meanCi(a.map((v, i) => v - b[i]));
}
