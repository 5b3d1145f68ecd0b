import { t975 } from "../evolver/experiment.js";

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
  const t = n > 1 ? t975(n - 1) : Number.NaN;
  const half = (t * sd) / Math.sqrt(n);
  return { n, mean, sd, lo: mean - half, hi: mean + half };
}

/** Mean paired difference a − b with its 95 % t interval. */
export function pairedDiff(a: readonly number[], b: readonly number[]): MeanCi {
  return meanCi(a.map((v, i) => v - b[i]));
}
