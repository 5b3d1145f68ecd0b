// Exact order statistics of a float32 stream that is too large to hold (the tensors of a model read
// from disk, or chunks of a spilled file) and can be visited twice:
//   pass 1 histograms the top 16 bits of every value's order-preserving key;
//   pass 2 histograms the low 16 bits, but only of values whose top bucket holds a requested rank.
// The answers are bit-identical to sorting the concatenated stream and indexing it, with the same
// total order as `selectKth` and `TypedArray.prototype.sort`: −0 before +0, every NaN (any sign or
// payload) after +Infinity; a rank in the NaN tail returns NaN. Memory: one 64 Ki-entry histogram
// for pass 1 plus one per distinct target bucket in pass 2. Counts are float64, so streams of up to
// 2^53 values are exact. Passes may visit the chunks in any order and split them arbitrarily;
// partial selectors over disjoint parts of a stream combine with `absorb` (e.g. one per thread).

import { SelectionError } from "./select.js";

const BUCKETS = 1 << 16;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function valueOfKey(key: number): number {
  u32[0] = key & 0x80000000 ? key ^ 0x80000000 : ~key;
  return f32[0];
}

/** [bucket, rank inside it] of `rank` in a histogram. */
function locate(hist: Float64Array, rank: number): [number, number] {
  let acc = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = hist[b];
    if (acc + c > rank) return [b, rank - acc];
    acc += c;
  }
  throw new SelectionError(
    `streaming quantile: rank ${rank} not found (did the stream change between passes?)`,
  );
}

function int32View(values: Float32Array, start: number, end: number, what: string): Int32Array {
  if (!(values instanceof Float32Array))
    throw new SelectionError(`streaming quantile: ${what} needs a Float32Array`);
  if (
    !(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= values.length)
  ) {
    throw new SelectionError(
      `streaming quantile: ${what} range [${start}, ${end}) outside [0, ${values.length})`,
    );
  }
  return new Int32Array(values.buffer, values.byteOffset + 4 * start, end - start);
}

/**
 * A pass-2 selector's targets as plain data (structured-cloneable), to build a selector with
 * `StreamingQuantile.fromLowPlan` on another thread, feed it part of the stream and ship its
 * `lowCounts()` back to `absorbLowCounts`.
 */
export interface StreamingLowPlan {
  readonly abs: boolean;
  readonly total: number;
  readonly slotOf: Int32Array;
  readonly slots: number;
  readonly target0: number;
  readonly target1: number;
  readonly flip0: number;
  readonly flip1: number;
}

/** Where the selector is: feeding pass 1, feeding pass 2, or answered. */
export type StreamingQuantilePhase = "top" | "low" | "done";

/**
 * Exact k-th smallest values of a float32 stream visited twice. Usage:
 * ```ts
 * const q = new StreamingQuantile((count) => [Math.floor(count / 2)]);
 * for (const chunk of stream()) q.addTop(chunk);
 * q.finishTop();
 * for (const chunk of stream()) q.addLow(chunk); // same values, any order and chunking
 * const [median] = q.finishLow();
 * ```
 */
export interface StreamingQuantileOptions {
  /**
   * Select order statistics of |x| instead of x (the sign bit of every value is ignored, so −0 counts
   * as +0 and NaNs stay last): saves callers an abs copy of each chunk.
   */
  readonly abs?: boolean;
}

export class StreamingQuantile {
  private top = new Float64Array(BUCKETS);
  /** Slot of each top bucket in `low` (−1: no requested rank there). */
  private readonly slotOf = new Int32Array(BUCKETS).fill(-1);
  private low = new Float64Array(0);
  private targets: { bucket: number; rank: number }[] = [];
  private state: StreamingQuantilePhase = "top";
  private total = 0;
  private lowCount = 0;
  private answers: number[] = [];

  /**
   * @param ranksOf the requested 0-based ranks as a function of the stream length (called once, when
   *   pass 1 finishes); each must be an integer in [0, count).
   */
  /** Sign bits cleared before keying (0x7fffffff with `abs`, else all bits kept). */
  private readonly mask: number;
  /**
   * Up to two pass-2 target buckets as raw top-16 bit patterns of the (masked) value, for a membership
   * test without computing keys (−1: use `slotOf`). Only for buckets outside the ±Inf/NaN patterns
   * (raw top bits 0x7f80–0x7fff, 0xff80–0xffff), where raw bits and keys map one to one.
   */
  private target0 = -1;
  private target1 = -1;
  /** XOR that turns a raw value's low 16 bits into its key's (0xffff for negative buckets). */
  private flip0 = 0;
  private flip1 = 0;

  constructor(
    readonly ranksOf: (count: number) => readonly number[],
    readonly options: StreamingQuantileOptions = {},
  ) {
    this.mask = options.abs ? 0x7fffffff : -1;
  }

  /** Values seen in pass 1. */
  get count(): number {
    return this.total;
  }

  get phase(): StreamingQuantilePhase {
    return this.state;
  }

  /** The answers once `finishLow` ran (in `ranksOf` order). */
  get results(): readonly number[] {
    if (this.state !== "done") throw new SelectionError("streaming quantile: results before finishLow");
    return this.answers;
  }

  private expect(phase: StreamingQuantilePhase, what: string): void {
    if (this.state !== phase) {
      throw new SelectionError(`streaming quantile: ${what} in phase '${this.state}' (needs '${phase}')`);
    }
  }

  /** Pass 1: feeds values[start, end) (every value of the stream exactly once over the pass). */
  addTop(values: Float32Array, start = 0, end = values.length): void {
    this.expect("top", "addTop");
    const bits = int32View(values, start, end, "addTop");
    const h = this.top;
    const mask = this.mask;
    for (let i = 0; i < bits.length; i++) {
      const u = bits[i] & mask;
      const key = (u & 0x7fffffff) > 0x7f800000 ? -1 : u ^ ((u >> 31) | 0x80000000);
      h[key >>> 16]++;
    }
    this.total += bits.length;
  }

  /** Ends pass 1: resolves the ranks to top buckets. Throws for an empty stream or a bad rank. */
  finishTop(): void {
    this.expect("top", "finishTop");
    if (this.total === 0) throw new SelectionError("streaming quantile: empty stream");
    let slots = 0;
    this.targets = this.ranksOf(this.total).map((r) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.total) {
        throw new SelectionError(
          `streaming quantile: rank ${r} is out of range for ${this.total} values (need an integer 0 <= k < ${this.total})`,
        );
      }
      const [bucket, rank] = locate(this.top, r);
      if (this.slotOf[bucket] < 0) this.slotOf[bucket] = slots++;
      return { bucket, rank };
    });
    const buckets = [...new Set(this.targets.map((t) => t.bucket))];
    const raw = buckets.map((b) => (b >= 0x8000 ? b ^ 0x8000 : ~b & 0xffff));
    if (buckets.length <= 2 && raw.every((r) => (r & 0x7f80) !== 0x7f80)) {
      this.target0 = raw[0];
      this.target1 = raw[1] ?? raw[0];
      this.flip0 = buckets[0] >= 0x8000 ? 0 : 0xffff;
      this.flip1 = (buckets[1] ?? buckets[0]) >= 0x8000 ? 0 : 0xffff;
    }
    this.low = new Float64Array(slots * BUCKETS);
    this.top = new Float64Array(0);
    this.state = "low";
  }

  /** Pass 2: feeds values[start, end) again (the same stream as pass 1, any order and chunking). */
  addLow(values: Float32Array, start = 0, end = values.length): void {
    this.expect("low", "addLow");
    const bits = int32View(values, start, end, "addLow");
    const slotOf = this.slotOf;
    const low = this.low;
    const mask = this.mask;
    const t0 = this.target0;
    const t1 = this.target1;
    if (t0 >= 0) {
      // One or two finite target buckets (the usual case): compare raw top bits, no key, no table.
      const base1 = t1 === t0 ? 0 : BUCKETS;
      const flip0 = this.flip0;
      const flip1 = this.flip1;
      for (let i = 0; i < bits.length; i++) {
        const u = bits[i] & mask;
        const r = u >>> 16;
        if (r === t0) low[(u ^ flip0) & 0xffff]++;
        else if (r === t1) low[base1 + ((u ^ flip1) & 0xffff)]++;
      }
    } else {
      for (let i = 0; i < bits.length; i++) {
        const u = bits[i] & mask;
        const key = (u & 0x7fffffff) > 0x7f800000 ? -1 : u ^ ((u >> 31) | 0x80000000);
        const slot = slotOf[key >>> 16];
        if (slot >= 0) low[slot * BUCKETS + (key & 0xffff)]++;
      }
    }
    this.lowCount += bits.length;
  }

  /**
   * Adds the counts of `other`, a selector in the same phase that saw another part of the stream
   * (pass 1), or the same targets and another part (pass 2: `other` must be a `forkLow()` of this).
   */
  absorb(other: StreamingQuantile): void {
    if (other.state !== this.state || this.state === "done") {
      throw new SelectionError(
        `streaming quantile: cannot absorb a '${other.state}' selector into a '${this.state}' one`,
      );
    }
    const [dst, src] = this.state === "top" ? [this.top, other.top] : [this.low, other.low];
    if (other.mask !== this.mask)
      throw new SelectionError("streaming quantile: cannot absorb a selector with other options");
    if (dst.length !== src.length || (this.state === "low" && other.slotOf !== this.slotOf)) {
      throw new SelectionError(
        "streaming quantile: absorb needs a selector with the same pass-2 targets (use forkLow)",
      );
    }
    for (let b = 0; b < dst.length; b++) dst[b] += src[b];
    if (this.state === "top") this.total += other.total;
    else this.lowCount += other.lowCount;
  }

  /**
   * The pass-1 histogram (65536 counts by top 16 key bits), to ship to another thread and
   * `absorbTopCounts` there; a view, not a copy.
   */
  topCounts(): Float64Array {
    this.expect("top", "topCounts");
    return this.top;
  }

  /** Adds pass-1 counts from `topCounts()` of a selector (same options) that saw `count` other values. */
  absorbTopCounts(counts: Float64Array, count: number): void {
    this.expect("top", "absorbTopCounts");
    if (counts.length !== BUCKETS)
      throw new SelectionError(`streaming quantile: expected ${BUCKETS} counts, got ${counts.length}`);
    const dst = this.top;
    for (let b = 0; b < BUCKETS; b++) dst[b] += counts[b];
    this.total += count;
  }

  /** This pass-2 selector's targets as plain data (see `StreamingLowPlan`). */
  lowPlan(): StreamingLowPlan {
    this.expect("low", "lowPlan");
    return {
      abs: this.options.abs === true,
      total: this.total,
      slotOf: this.slotOf.slice(),
      slots: this.low.length / BUCKETS,
      target0: this.target0,
      target1: this.target1,
      flip0: this.flip0,
      flip1: this.flip1,
    };
  }

  /**
   * An empty pass-2 selector with the targets of `plan` (from `lowPlan()`, possibly on another
   * thread): feed it with `addLow`, then hand `lowCounts()` to the original's `absorbLowCounts`.
   * It cannot answer by itself (no ranks).
   */
  static fromLowPlan(plan: StreamingLowPlan): StreamingQuantile {
    const q = new StreamingQuantile(() => [], { abs: plan.abs });
    if (plan.slotOf.length !== BUCKETS || !(plan.slots >= 0))
      throw new SelectionError("streaming quantile: malformed pass-2 plan");
    Object.assign(q, {
      target0: plan.target0,
      target1: plan.target1,
      flip0: plan.flip0,
      flip1: plan.flip1,
      top: new Float64Array(0),
      slotOf: plan.slotOf,
      low: new Float64Array(plan.slots * BUCKETS),
      state: "low",
      total: plan.total,
    });
    return q;
  }

  /** The pass-2 counts (slots × 65536) and how many values they saw, for `absorbLowCounts`; a view. */
  lowCounts(): { counts: Float64Array; count: number } {
    this.expect("low", "lowCounts");
    return { counts: this.low, count: this.lowCount };
  }

  /** Adds pass-2 counts of a selector built from this one's `lowPlan()` that saw `count` other values. */
  absorbLowCounts(counts: Float64Array, count: number): void {
    this.expect("low", "absorbLowCounts");
    const dst = this.low;
    if (counts.length !== dst.length)
      throw new SelectionError(
        `streaming quantile: expected ${dst.length} pass-2 counts, got ${counts.length}`,
      );
    for (let b = 0; b < dst.length; b++) dst[b] += counts[b];
    this.lowCount += count;
  }

  /** An empty pass-2 selector with this one's targets, for feeding part of the stream elsewhere and `absorb`ing it. */
  forkLow(): StreamingQuantile {
    this.expect("low", "forkLow");
    const f = new StreamingQuantile(this.ranksOf, this.options);
    Object.assign(f, {
      target0: this.target0,
      target1: this.target1,
      flip0: this.flip0,
      flip1: this.flip1,
      top: new Float64Array(0),
      slotOf: this.slotOf,
      low: new Float64Array(this.low.length),
      targets: this.targets,
      state: "low",
      total: this.total,
    });
    return f;
  }

  /** Ends pass 2: the requested order statistics, in `ranksOf` order. */
  finishLow(): number[] {
    this.expect("low", "finishLow");
    if (this.lowCount !== this.total) {
      throw new SelectionError(
        `streaming quantile: pass 2 saw ${this.lowCount} values, pass 1 saw ${this.total}`,
      );
    }
    this.answers = this.targets.map(({ bucket, rank }) => {
      const slot = this.slotOf[bucket];
      const [lowBits] = locate(this.low.subarray(slot * BUCKETS, (slot + 1) * BUCKETS), rank);
      return valueOfKey(((bucket << 16) | lowBits) >>> 0);
    });
    this.low = new Float64Array(0);
    this.state = "done";
    return this.answers;
  }
}
