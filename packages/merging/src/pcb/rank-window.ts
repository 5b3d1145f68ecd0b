// An exact order statistic found in the same sweep that produces the values (Floyd–Rivest style):
// a sample taken beforehand gives a value window [lo, hi] that very likely holds the requested
// rank; the sweep counts the values below lo and keeps the ones inside the window. If the rank
// lands inside (below ≤ k < below + count), the answer is the (k − below)-th smallest kept value —
// exact, because every value < lo precedes every kept value in the total order and every value > hi
// (or NaN) follows it; −0 and +0 compare equal, so both zeros always fall in the same class. Otherwise
// (the sample misled, or the kept values overflowed their buffer) `resolve` returns undefined and the
// caller falls back to a two-sweep histogram refinement. PCB streaming-global uses this for the drop
// threshold, which saves a whole sweep over the n × D balance scores.

import { selectKth } from "@x/tensor-core";

/** The value window of one selection, chosen from a sample of the values. */
export interface ValueWindow {
  readonly lo: number;
  readonly hi: number;
  /** Share of the sample inside the window (what share of the stream it should hold). */
  readonly fraction: number;
}

/**
 * The window around the sample's estimate of rank `k` out of `total` values: `slack` (a fraction of
 * the sample, plus a 6σ binomial margin) on each side. `sample` is sorted in place. Returns the
 * whole line (−∞, +∞) for an empty sample (the kept values then overflow and the caller sweeps).
 */
export function windowFromSample(sample: Float32Array, k: number, total: number, slack: number): ValueWindow {
  const s = sample.length;
  if (s === 0) return { lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY, fraction: 1 };
  sample.sort(); // total order: −0 before +0, NaN last
  const p = Math.min(1, Math.max(0, k / total));
  const centre = p * (s - 1);
  const margin = Math.ceil(slack * s + 6 * Math.sqrt(s * p * (1 - p)) + 1);
  const a = Math.floor(centre) - margin;
  const b = Math.ceil(centre) + margin;
  return {
    lo: a < 0 ? Number.NEGATIVE_INFINITY : sample[a],
    hi: b >= s ? Number.POSITIVE_INFINITY : sample[b],
    fraction: Math.min(1, (b - a + 1) / s),
  };
}

/** Kept-value capacity for a window that is expected to hold `fraction` of `total` values: 4× that, at least 4096. */
export function windowCapacity(total: number, fraction: number): number {
  return Math.min(total, Math.max(4096, Math.ceil(4 * fraction * total)));
}

/**
 * Counts and kept values of one window over a stream. The hot loop lives in the caller's kernel
 * (it writes `cand`, `count`, `below` directly); this class holds the state and answers.
 */
export class RankWindow {
  below = 0;
  count = 0;
  overflow = false;
  readonly cand: Float32Array;
  readonly lo: number;
  /** NaN when `lo` is NaN: the kernels keep v ≤ hi among values not below lo, which needs lo ≤ v. */
  readonly hi: number;

  constructor(lo: number, hi: number, capacity: number, buffer?: Float32Array) {
    this.lo = lo;
    this.hi = Number.isNaN(lo) ? Number.NaN : hi;
    this.cand = buffer ?? new Float32Array(capacity);
  }

  /** Feeds values (the reference loop; kernels inline the same three cases). */
  add(values: Float32Array): void {
    const { lo, hi, cand } = this;
    const cap = cand.length;
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (v < lo) this.below++;
      else if (v <= hi) {
        if (this.count < cap) cand[this.count] = v;
        this.count++;
      }
    }
  }

  /** `add` that also returns the maximum of `mx` and the values (the first of equal values wins). */
  addWithMax(values: Float32Array, mx: number): number {
    const { lo, hi, cand } = this;
    const cap = cand.length;
    let below = this.below;
    let count = this.count;
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (v > mx) mx = v;
      if (v < lo) below++;
      else if (v <= hi) {
        if (count < cap) cand[count] = v;
        count++;
      }
    }
    this.below = below;
    this.count = count;
    return mx;
  }

  /** Adds another window's results over a disjoint part of the stream (same lo, hi). */
  absorb(below: number, count: number, values: Float32Array, overflow: boolean): void {
    this.below += below;
    if (overflow || this.count + count > this.cand.length || count > values.length) this.overflow = true;
    else this.cand.set(values.subarray(0, count), this.count);
    this.count += count;
  }

  /** The exact k-th smallest value of the whole stream when the window holds it, else undefined. */
  resolve(k: number): number | undefined {
    if (this.overflow || this.count > this.cand.length) return undefined;
    if (k < this.below || k >= this.below + this.count) return undefined;
    return selectKth(this.cand.subarray(0, this.count), k - this.below);
  }
}
