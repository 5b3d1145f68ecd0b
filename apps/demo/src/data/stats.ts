/** Mean and sample standard deviation (n − 1; 0 for a single value), as the benchmark files report them. */
export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export function stat(values: readonly number[]): Stat {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  let sum = 0;
  for (const x of values) sum += x;
  const mean = sum / n;
  if (n === 1) return { mean, std: 0, n };
  let ss = 0;
  for (const x of values) ss += (x - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

export function mean(values: readonly number[]): number {
  return stat(values).mean;
}
