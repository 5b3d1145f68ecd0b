import { t975 } from "../evolver/experiment.js";
import { stat } from "../merging-8task/report.js";

export interface MeanCi {
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
  /** 95 % t interval of the mean. */
  readonly lo: number;
  readonly hi: number;
}

export function meanCi(xs: readonly number[]): MeanCi {
  const { n, mean, std: sd } = stat(xs);
  const t = n > 1 ? t975(n - 1) : Number.NaN;
  const half = (t * sd) / Math.sqrt(n);
  return { n, mean, sd, lo: mean - half, hi: mean + half };
}

/** Mean paired difference a − b with its 95 % t interval. */
export function pairedDiff(a: readonly number[], b: readonly number[]): MeanCi {
  return meanCi(a.map((v, i) => v - b[i]));
}
