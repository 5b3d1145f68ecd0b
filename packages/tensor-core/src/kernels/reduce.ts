// Reductions on float typed arrays: over a whole array / range (one task row along D), along the
// task axis of an n x D row-major layout (result has D entries), and per row (result has n entries).
//
// Precision and determinism:
// - Task-axis sums accumulate in the output's type row by row (fp32 output = fp32 adds in task
//   order, as a PyTorch `T.sum(0)` over a few rows does), so column chunks never change a result.
// - Sums along D accumulate in float64 in fixed blocks of SUM_BLOCK elements and then add the block
//   sums in order; the worker pool splits at block boundaries and combines the same way, so a pooled
//   sum is bit-identical to the single-threaded one.
// - min/max propagate NaN (like torch.min/max); countNonZero counts NaN as non-zero (x !== 0).
import type { FloatArray } from "../select.js";
import { expectLength, expectMatrix, expectRange, KernelError, like } from "./errors.js";

/** Block length of the float64 partial sums along D (a power of two; pool chunks align to it). */
export const SUM_BLOCK = 1 << 16;

/** Float64 sum of each SUM_BLOCK-aligned block overlapping [start, end); start must be block-aligned. */
export function blockSums(x: ArrayLike<number>, start = 0, end = x.length): Float64Array {
  expectRange("blockSums", start, end, x.length);
  if (start % SUM_BLOCK !== 0)
    throw new KernelError(`blockSums: start ${start} is not a multiple of ${SUM_BLOCK}`);
  const out = new Float64Array(Math.ceil((end - start) / SUM_BLOCK));
  for (let b = 0, s = start; s < end; b++, s += SUM_BLOCK) {
    const e = Math.min(end, s + SUM_BLOCK);
    let acc = 0;
    for (let i = s; i < e; i++) acc += x[i];
    out[b] = acc;
  }
  return out;
}

/** Adds block sums in order (the second stage of `sum`). */
export function combineBlockSums(parts: readonly Float64Array[]): number {
  let total = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) total += p[i];
  return total;
}

/** Sum of x (float64 accumulation in SUM_BLOCK blocks); 0 for an empty array. */
export function sum(x: FloatArray): number {
  return combineBlockSums([blockSums(x)]);
}

/** Mean of x; NaN for an empty array. */
export function mean(x: FloatArray): number {
  return sum(x) / x.length;
}

/** Minimum of x[start, end) (the first of equal minima, so ±0 keeps its first sign); NaN if any is NaN; +Infinity if empty. */
export function min(x: FloatArray, start = 0, end = x.length): number {
  expectRange("min", start, end, x.length);
  let m = Number.POSITIVE_INFINITY;
  for (let i = start; i < end; i++) {
    const v = x[i];
    if (v < m) m = v;
    else if (Number.isNaN(v)) return Number.NaN;
  }
  return m;
}

/** Maximum of x[start, end) (the first of equal maxima); NaN if any is NaN; -Infinity if empty. */
export function max(x: FloatArray, start = 0, end = x.length): number {
  expectRange("max", start, end, x.length);
  let m = Number.NEGATIVE_INFINITY;
  for (let i = start; i < end; i++) {
    const v = x[i];
    if (v > m) m = v;
    else if (Number.isNaN(v)) return Number.NaN;
  }
  return m;
}

/** Number of entries that are not ±0 (NaN counts) in x[start, end). */
export function countNonZero(x: FloatArray, start = 0, end = x.length): number {
  expectRange("countNonZero", start, end, x.length);
  let c = 0;
  for (let i = start; i < end; i++) if (x[i] !== 0) c++;
  return c;
}

/**
 * Row min-max normalisation (x − min) / (max − min), the MinMax of the PCB reference: no epsilon, so a
 * constant row gives 0/0 = NaN; `guard: true` gives 0 instead.
 */
export function minMaxNormalize(x: FloatArray, out?: FloatArray, opts: { guard?: boolean } = {}): FloatArray {
  const o = out ?? like(x);
  expectLength("minMaxNormalize output", o, x.length);
  const lo = min(x);
  const span = max(x) - lo;
  if (opts.guard && span === 0) return o.fill(0);
  for (let i = 0; i < x.length; i++) o[i] = (x[i] - lo) / span;
  return o;
}

export type TaskReduceOp = "sum" | "min" | "max" | "mean" | "countNonZero";

function taskOut(what: string, x: FloatArray, d: number, out: FloatArray | undefined): FloatArray {
  const o = out ?? like(x, d);
  expectLength(`${what} output`, o, d);
  return o;
}

/**
 * Reduces an n x D row-major array along the task axis into D outputs, for columns [start, end).
 * Streams row by row (cache friendly); NaN propagates for min/max; mean = sum / n in the output type.
 */
export function reduceTasks(
  op: TaskReduceOp,
  x: FloatArray,
  n: number,
  d: number,
  out?: FloatArray,
  start = 0,
  end = d,
): FloatArray {
  expectMatrix(`reduceTasks(${op})`, x, n, d);
  const o = taskOut(`reduceTasks(${op})`, x, d, out);
  expectRange(`reduceTasks(${op})`, start, end, d);
  if (op === "countNonZero") {
    o.fill(0, start, end);
    for (let r = 0; r < n; r++) {
      const base = r * d;
      for (let k = start; k < end; k++) if (x[base + k] !== 0) o[k] += 1;
    }
    return o;
  }
  for (let k = start; k < end; k++) o[k] = x[k];
  for (let r = 1; r < n; r++) {
    const base = r * d;
    if (op === "sum" || op === "mean") {
      for (let k = start; k < end; k++) o[k] += x[base + k];
    } else if (op === "min") {
      for (let k = start; k < end; k++) {
        const v = x[base + k];
        const m = o[k];
        if (v < m || Number.isNaN(v)) o[k] = v;
      }
    } else if (op === "max") {
      for (let k = start; k < end; k++) {
        const v = x[base + k];
        const m = o[k];
        if (v > m || Number.isNaN(v)) o[k] = v;
      }
    } else {
      throw new KernelError(`reduceTasks: unknown op ${String(op)}`);
    }
  }
  if (op === "mean") for (let k = start; k < end; k++) o[k] /= n;
  return o;
}

/**
 * Weighted sum of the n rows of an n x D array: out[k] = Σ_i w_i · x[i, k] for k in [start, end),
 * accumulated in the output type in task order.
 */
export function weightedSumTasks(
  x: FloatArray,
  n: number,
  d: number,
  weights: ArrayLike<number>,
  out?: FloatArray,
  start = 0,
  end = d,
): FloatArray {
  expectMatrix("weightedSumTasks", x, n, d);
  expectLength("weightedSumTasks weights", weights, n);
  const o = taskOut("weightedSumTasks", x, d, out);
  expectRange("weightedSumTasks", start, end, d);
  const w0 = weights[0];
  for (let k = start; k < end; k++) o[k] = w0 * x[k];
  for (let r = 1; r < n; r++) {
    const w = weights[r];
    const base = r * d;
    for (let k = start; k < end; k++) o[k] += w * x[base + k];
  }
  return o;
}

export type RowReduceOp = "sum" | "min" | "max" | "mean" | "countNonZero";

/** Reduces each of the n rows of an n x D array along D; returns n float64 results. */
export function reduceRows(op: RowReduceOp, x: FloatArray, n: number, d: number): Float64Array {
  expectMatrix(`reduceRows(${op})`, x, n, d);
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    switch (op) {
      case "sum":
        out[r] = sum(row);
        break;
      case "mean":
        out[r] = mean(row);
        break;
      case "min":
        out[r] = min(row);
        break;
      case "max":
        out[r] = max(row);
        break;
      case "countNonZero":
        out[r] = countNonZero(row);
        break;
      default:
        throw new KernelError(`reduceRows: unknown op ${String(op)}`);
    }
  }
  return out;
}
