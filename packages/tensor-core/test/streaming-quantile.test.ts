// StreamingQuantile must equal sort-and-index on the concatenated stream for any chunking and visit
// order, with selectKth's policy for ±0 and NaN, and refuse inconsistent passes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng, SelectionError, StreamingQuantile, selectKth } from "../src/index.js";

const value = fc.oneof(
  { weight: 3, arbitrary: fc.float({ noNaN: false }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, -0, 1, -1, 1e-45, -1e-45, Infinity, -Infinity, Number.NaN, 3.4e38),
  },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
);

/** Feeds `parts` (in `order` for pass 2) and returns the answers. */
function run(parts: Float32Array[], ranksOf: (d: number) => number[], order: number[]): number[] {
  const q = new StreamingQuantile(ranksOf);
  for (const p of parts) q.addTop(p);
  q.finishTop();
  for (const i of order) q.addLow(parts[i]);
  return q.finishLow();
}

describe("StreamingQuantile", () => {
  it("equals sorted[k] over chunked streams in any pass-2 order (negatives, ±0, ties, NaN, ±Inf)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(value, { maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
        fc.integer(),
        (chunks, fractions, seed) => {
          const parts = chunks.map((c) => Float32Array.from(c));
          const all = Float32Array.from(parts.flatMap((p) => Array.from(p)));
          fc.pre(all.length > 0);
          const sorted = all.slice().sort();
          const ranksOf = (d: number) => fractions.map((q) => Math.min(d - 1, Math.floor(q * d)));
          const order = new Rng(seed >>> 0).permutation(parts.length);
          const got = run(parts, ranksOf, Array.from(order));
          const want = ranksOf(all.length).map((k) => sorted[k]);
          expect(got).toEqual(want); // toEqual tells −0 from +0 and matches NaN
          // Same policy as selectKth on the whole array.
          expect(got).toEqual(ranksOf(all.length).map((k) => selectKth(all, k)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("with abs: equals sorted |x| (−0 as +0, NaN last), for one, two and many target buckets", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(value, { maxLength: 30 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (chunks, fractions) => {
          const parts = chunks.map((c) => Float32Array.from(c));
          const all = Float32Array.from(parts.flatMap((p) => Array.from(p)));
          fc.pre(all.length > 0);
          const sorted = all.map(Math.abs).sort();
          const ranksOf = (d: number) => fractions.map((q) => Math.min(d - 1, Math.floor(q * d)));
          const q = new StreamingQuantile(ranksOf, { abs: true });
          for (const p of parts) q.addTop(p);
          q.finishTop();
          const fork = q.forkLow();
          for (let i = 0; i < parts.length; i++) (i % 2 ? fork : q).addLow(parts[i]);
          q.absorb(fork);
          expect(q.finishLow()).toEqual(ranksOf(all.length).map((k) => sorted[k]));
        },
      ),
      { numRuns: 300 },
    );
    const plain = new StreamingQuantile(() => [0]);
    expect(() => plain.absorb(new StreamingQuantile(() => [0], { abs: true }))).toThrow(/other options/);
  });

  it("answers every rank of a stream with many values per bucket (large stream, sub-ranges)", () => {
    const rng = new Rng(7);
    const all = new Float32Array(200_000);
    rng.fillNormal(all, 0, 1e-3);
    for (let k = 0; k < all.length; k += 97) all[k] = 0; // a heavy tie at +0 and −0
    for (let k = 50; k < all.length; k += 193) all[k] = -0;
    const sorted = all.slice().sort();
    const ks = [0, 1, 999, 100_000, 100_001, 150_000, 199_998, 199_999];
    const q = new StreamingQuantile(() => ks);
    for (let s = 0; s < all.length; s += 30_000) q.addTop(all, s, Math.min(all.length, s + 30_000));
    q.finishTop();
    for (let s = all.length; s > 0; s -= 7_777) q.addLow(all, Math.max(0, s - 7_777), s);
    expect(q.finishLow()).toEqual(ks.map((k) => sorted[k]));
    expect(q.results).toEqual(ks.map((k) => sorted[k]));
    expect(q.phase).toBe("done");
  });

  it("combines partial selectors (pass 1 by absorb or shipped counts, pass 2 by forkLow + absorb) exactly", () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (vals, cut0, frac) => {
          const all = Float32Array.from(vals);
          const cut = Math.min(cut0, all.length);
          const ranksOf = (d: number) => [Math.min(d - 1, Math.floor(frac * d)), 0, d - 1];
          const main = new StreamingQuantile(ranksOf);
          const part = new StreamingQuantile(ranksOf);
          const shipped = new StreamingQuantile(ranksOf); // counts shipped as a plain array (threads)
          main.addTop(all, 0, cut);
          part.addTop(all, cut, Math.min(all.length, cut + 5));
          shipped.addTop(all, Math.min(all.length, cut + 5));
          main.absorb(part);
          main.absorbTopCounts(Float64Array.from(shipped.topCounts()), shipped.count);
          main.finishTop();
          const fork = main.forkLow();
          main.addLow(all, cut);
          fork.addLow(all, 0, cut);
          main.absorb(fork);
          const sorted = all.slice().sort();
          expect(main.finishLow()).toEqual(ranksOf(all.length).map((k) => sorted[k]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("pass 2 split over a plan copy (lowPlan → structuredClone → fromLowPlan → absorbLowCounts) is exact, abs or not", () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (vals, cut0, fractions, abs) => {
          const all = Float32Array.from(vals);
          const cut = Math.min(cut0, all.length);
          const ranksOf = (d: number) => fractions.map((q) => Math.min(d - 1, Math.floor(q * d)));
          const main = new StreamingQuantile(ranksOf, { abs });
          main.addTop(all);
          main.finishTop();
          const plan = structuredClone(main.lowPlan()); // as a worker thread receives it
          const other = StreamingQuantile.fromLowPlan(plan);
          other.addLow(all, 0, cut);
          main.addLow(all, cut);
          const { counts, count } = other.lowCounts();
          main.absorbLowCounts(Float64Array.from(counts), count);
          const keyed = abs ? all.map(Math.abs) : all;
          const sorted = keyed.slice().sort();
          expect(main.finishLow()).toEqual(ranksOf(all.length).map((k) => sorted[k]));
        },
      ),
      { numRuns: 300 },
    );
    const q = new StreamingQuantile(() => [0]);
    q.addTop(new Float32Array([1, 2]));
    q.finishTop();
    expect(() => q.absorbLowCounts(new Float64Array(3), 1)).toThrow(SelectionError);
    expect(() => StreamingQuantile.fromLowPlan({ ...q.lowPlan(), slotOf: new Int32Array(5) })).toThrow(
      SelectionError,
    );
  });

  it("returns NaN for a rank in the NaN tail and −0 before +0", () => {
    const q = new StreamingQuantile(() => [0, 1, 2, 3]);
    q.addTop(new Float32Array([Number.NaN, 0, -0]));
    q.addTop(new Float32Array([-Infinity]));
    q.finishTop();
    q.addLow(new Float32Array([-Infinity, Number.NaN, 0, -0]));
    const r = q.finishLow();
    expect(r[0]).toBe(-Infinity);
    expect(Object.is(r[1], -0)).toBe(true);
    expect(Object.is(r[2], 0)).toBe(true);
    expect(Number.isNaN(r[3])).toBe(true);
  });

  it("answers one or two ranks on ±Inf, NaN, negatives, ±0 and denormals (fast pass-2 path and its exclusions)", () => {
    const vals = Float32Array.from([
      Number.NaN,
      -Infinity,
      Infinity,
      -0,
      0,
      1e-45,
      -1e-45,
      -2.5,
      -2.5,
      3,
      7,
      Infinity,
      -Infinity,
      Number.NaN,
      -1e30,
    ]);
    // A NaN whose raw top 16 bits equal +Inf's, and a negative NaN sharing −Inf's.
    const words = new Uint32Array(2);
    words[0] = 0x7f800001;
    words[1] = 0xff800001;
    const all = new Float32Array(vals.length + 2);
    all.set(vals);
    all.set(new Float32Array(words.buffer), vals.length);
    for (const abs of [false, true]) {
      const sorted = (abs ? all.map(Math.abs) : all.slice()).sort();
      for (let k = 0; k < all.length; k++) {
        for (const pair of [[k], [k, (k * 7) % all.length]]) {
          const q = new StreamingQuantile(() => pair, { abs });
          q.addTop(all);
          q.finishTop();
          q.addLow(all, 0, 5);
          q.addLow(all, 5);
          expect(q.finishLow(), `abs=${abs} ranks ${pair}`).toEqual(pair.map((r) => sorted[r]));
        }
      }
    }
  });

  it("rejects misuse with SelectionError: empty stream, bad rank, wrong phase, changed stream, bad range", () => {
    expect(() => new StreamingQuantile(() => [0]).finishTop()).toThrow(/empty stream/);
    const bad = new StreamingQuantile((d) => [d]);
    bad.addTop(new Float32Array([1, 2]));
    expect(() => bad.finishTop()).toThrow(/rank 2 is out of range for 2 values/);
    const q = new StreamingQuantile(() => [0]);
    expect(() => q.addLow(new Float32Array(1))).toThrow(SelectionError);
    expect(() => q.addTop(new Float32Array(3), 2, 5)).toThrow(/range \[2, 5\)/);
    expect(() => q.addTop(new Float64Array(3) as unknown as Float32Array)).toThrow(/Float32Array/);
    expect(() => q.results).toThrow(/before finishLow/);
    q.addTop(new Float32Array([1, 2, 3]));
    q.finishTop();
    expect(() => q.addTop(new Float32Array(1))).toThrow(/phase 'low'/);
    q.addLow(new Float32Array([1, 2]));
    expect(() => q.finishLow()).toThrow(/pass 2 saw 2 values, pass 1 saw 3/);
    const other = new StreamingQuantile(() => [0]);
    other.addTop(new Float32Array([1]));
    other.finishTop();
    expect(() => q.absorb(other)).toThrow(/same pass-2 targets/);
  });
});
