// An exact order statistic found in the same sweep that produces the values (Floyd–Rivest style):
// a sample taken beforehand gives a value window [lo, hi] that very likely holds the requested
// rank; the sweep counts the values below lo and keeps the ones inside the window. If the rank
// lands inside (below ≤ k < below + count), the answer is the (k − below)-th smallest kept value —
// exact, because every value < lo precedes every kept value in the total order and every value > hi
// (or NaN) follows it; −0 and +0 compare equal, so both zeros always fall in the same class. Otherwise
// (the sample misled, or the kept values overflowed their buffer) `resolve` returns undefined and the
// caller falls back to a two-sweep histogram refinement. PCB streaming-global uses this for the drop
// threshold, which saves a whole sweep over the n × D balance scores.

import { selectKth } from "@x/tensor-core/browser";

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
  /**
   * Stream positions (offset + index, ascending) of the values not below `lo`, when `addWithMax`
   * is given room for them: every value above the threshold, if the threshold lies in the window.
   * PCB's merge visits only these instead of scanning every score. `posCount` may exceed the room.
   */
  readonly pos: Int32Array;
  posCount = 0;
  readonly lo: number;
  /** NaN when `lo` is NaN: the kernels keep v ≤ hi among values not below lo, which needs lo ≤ v. */
  readonly hi: number;

  constructor(
    lo: number,
    hi: number,
    capacity: number,
    buffer?: Float32Array,
    positions: Int32Array = new Int32Array(0),
  ) {
    this.lo = lo;
    this.hi = Number.isNaN(lo) ? Number.NaN : hi;
    this.cand = buffer ?? new Float32Array(capacity);
    this.pos = positions;
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

  /**
   * `add` that also returns the maximum of `mx` and the values (the first of equal values wins) and
   * records the positions `offset + k` of values not below lo (see `pos`).
   */
  addWithMax(values: Float32Array, mx: number, offset = 0): number {
    const { lo, hi, cand, pos } = this;
    const cap = cand.length;
    const pcap = pos.length;
    let below = this.below;
    let count = this.count;
    let pc = this.posCount;
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (v > mx) mx = v;
      if (v < lo) below++;
      else {
        if (pc < pcap) pos[pc] = offset + k;
        pc++;
        if (v <= hi) {
          if (count < cap) cand[count] = v;
          count++;
        }
      }
    }
    this.below = below;
    this.count = count;
    this.posCount = pc;
    return mx;
  }

  /** Appends positions recorded by another window over a later part of the stream. */
  absorbPositions(list: Int32Array, count: number): void {
    if (this.posCount + count <= this.pos.length && count <= list.length)
      this.pos.set(list.subarray(0, count), this.posCount);
    this.posCount += count;
  }

  /** The recorded positions, or undefined when they did not fit (or none were asked for). */
  positions(): Int32Array | undefined {
    return this.pos.length > 0 && this.posCount <= this.pos.length
      ? this.pos.subarray(0, this.posCount)
      : undefined;
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
