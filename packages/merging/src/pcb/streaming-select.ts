// Exact order statistics of a float32 stream that is visited twice (the tensors of a model that does
// not fit in memory): pass 1 histograms the top 16 bits of each value's order-preserving key, pass 2
// histograms the low 16 bits inside the bucket that holds each requested rank. The result is
// bit-identical to sorting the concatenated stream and indexing it (same key order as
// @x/tensor-core `selectKth`: −0 before +0, NaNs last), with O(65536) memory per histogram.
// Counts are float64 so streams beyond 2^32 values are exact.

import { PcbError } from "./options.js";

const BUCKETS = 1 << 16;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function valueOfKey(key: number): number {
  u32[0] = key & 0x80000000 ? key ^ 0x80000000 : ~key;
  return f32[0];
}

function locate(hist: Float64Array, rank: number): [number, number] {
  let acc = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = hist[b];
    if (acc + c > rank) return [b, rank - acc];
    acc += c;
  }
  throw new PcbError(`streaming select: rank ${rank} not found (stream changed between passes?)`);
}

export class StreamingSelect {
  private readonly top = new Float64Array(BUCKETS);
  /** Slot of each top bucket in `low` (−1: not a target bucket). */
  private readonly slotOf = new Int32Array(BUCKETS).fill(-1);
  private low = new Float64Array(0);
  private targets: { bucket: number; rank: number }[] = [];
  private phase: "top" | "low" | "done" = "top";
  private total = 0;
  private lowCount = 0;
  private results: number[] = [];

  /** @param ranksOf the requested 0-based ranks as a function of the stream length (known after pass 1). */
  constructor(private readonly ranksOf: (count: number) => readonly number[]) {}

  get count(): number {
    return this.total;
  }

  /** Pass 1: feed every value of the stream once. */
  addTop(values: Float32Array): void {
    if (this.phase !== "top") throw new PcbError("streaming select: addTop after pass 1 finished");
    const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
    const h = this.top;
    for (let i = 0; i < bits.length; i++) {
      const u = bits[i];
      const key = (u & 0x7fffffff) > 0x7f800000 ? -1 : u ^ ((u >> 31) | 0x80000000);
      h[key >>> 16]++;
    }
    this.total += values.length;
  }

  finishTop(): void {
    if (this.phase !== "top") throw new PcbError("streaming select: pass 1 already finished");
    if (this.total === 0) throw new PcbError("streaming select: empty stream");
    const ranks = this.ranksOf(this.total);
    let slots = 0;
    this.targets = ranks.map((r) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.total) {
        throw new PcbError(`streaming select: rank ${r} out of range for ${this.total} values`);
      }
      const [bucket, rank] = locate(this.top, r);
      if (this.slotOf[bucket] < 0) this.slotOf[bucket] = slots++;
      return { bucket, rank };
    });
    this.low = new Float64Array(slots * BUCKETS);
    this.phase = "low";
  }

  /** Pass 2: feed the same stream again (any order). */
  addLow(values: Float32Array): void {
    if (this.phase !== "low") throw new PcbError("streaming select: addLow outside pass 2");
    const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
    const slotOf = this.slotOf;
    const low = this.low;
    for (let i = 0; i < bits.length; i++) {
      const u = bits[i];
      const key = (u & 0x7fffffff) > 0x7f800000 ? -1 : u ^ ((u >> 31) | 0x80000000);
      const slot = slotOf[key >>> 16];
      if (slot >= 0) low[slot * BUCKETS + (key & 0xffff)]++;
    }
    this.lowCount += values.length;
  }

  /** The requested order statistics, in the order `ranksOf` returned them. */
  finishLow(): number[] {
    if (this.phase !== "low") throw new PcbError("streaming select: pass 2 not started");
    if (this.lowCount !== this.total) {
      throw new PcbError(`streaming select: pass 2 saw ${this.lowCount} values, pass 1 saw ${this.total}`);
    }
    this.results = this.targets.map(({ bucket, rank }) => {
      const slot = this.slotOf[bucket];
      const [lowBits] = locate(this.low.subarray(slot * BUCKETS, (slot + 1) * BUCKETS), rank);
      return valueOfKey(((bucket << 16) | lowBits) >>> 0);
    });
    this.low = new Float64Array(0);
    this.phase = "done";
    return this.results;
  }
}
