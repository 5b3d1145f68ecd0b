// The drop-threshold window (rank-window.ts) must give exactly sorted[k] whenever it answers, say
// "undefined" (so the caller sweeps) whenever the rank is outside or the kept values overflowed, and
// combine split streams (threads) exactly — for any window, including ones built from a bad sample.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RankWindow, windowCapacity, windowFromSample } from "../../src/pcb/rank-window.js";

const value = fc.oneof(
  { weight: 4, arbitrary: fc.float({ noNaN: false }) },
  { weight: 3, arbitrary: fc.constantFrom(0, -0, 1, -1, 2, Infinity, -Infinity, Number.NaN) },
  { weight: 3, arbitrary: fc.integer({ min: -4, max: 4 }) },
);

describe("RankWindow", () => {
  it("answers sorted[k] or undefined, exactly, for any window and capacity, whole or split", () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 200 }),
        fc.tuple(value, value),
        fc.integer({ min: 0, max: 250 }),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (vals, [a, b], cap, cut0, frac) => {
          const all = Float32Array.from(vals);
          const sorted = all.slice().sort();
          const k = Math.min(all.length - 1, Math.floor(frac * all.length));
          const [lo, hi] = [Math.fround(a), Math.fround(b)];
          const whole = new RankWindow(lo, hi, cap);
          whole.add(all);
          const cut = Math.min(cut0, all.length);
          const main = new RankWindow(lo, hi, cap);
          const other = new RankWindow(lo, hi, cap);
          // The maximum as a column-order loop keeps it: the first of equal values (−0 before +0 here).
          // biome-ignore lint/complexity/useMathMinMax: Math.max differs on NaN and on the sign of zero
          const firstMax = all.subarray(0, cut).reduce((m, v) => (v > m ? v : m), Number.NEGATIVE_INFINITY);
          expect(Object.is(main.addWithMax(all.subarray(0, cut), Number.NEGATIVE_INFINITY), firstMax)).toBe(
            true,
          );
          other.add(all.subarray(cut));
          main.absorb(other.below, other.count, other.cand, other.count > other.cand.length);
          const inside = all.filter((v) => v >= lo && v <= hi).length; // none when lo is NaN
          const below = all.filter((v) => v < lo).length;
          for (const w of [whole, main]) {
            expect([w.below, w.count]).toEqual([below, inside]);
            const got = w.resolve(k);
            const fits = inside <= cap && k >= below && k < below + inside;
            if (fits) expect(Object.is(got, sorted[k]), `k ${k} got ${got} want ${sorted[k]}`).toBe(true);
            else if (w === whole || inside > cap) expect(got).toBeUndefined();
            if (got !== undefined) expect(Object.is(got, sorted[k])).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("records the positions of the values not below lo, split or whole, or reports that they did not fit", () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 150 }),
        fc.tuple(value, value),
        fc.integer({ min: 0, max: 160 }),
        fc.integer({ min: 0, max: 150 }),
        fc.integer({ min: 0, max: 1000 }),
        (vals, [a, b], room, cut0, offset) => {
          const all = Float32Array.from(vals);
          const [lo, hi] = [Math.fround(a), Math.fround(b)];
          const cut = Math.min(cut0, all.length);
          const main = new RankWindow(lo, hi, 0, undefined, new Int32Array(room));
          const other = new RankWindow(lo, hi, 0, undefined, new Int32Array(room));
          main.addWithMax(all.subarray(0, cut), Number.NEGATIVE_INFINITY, offset);
          other.addWithMax(all.subarray(cut), Number.NEGATIVE_INFINITY, offset + cut);
          main.absorbPositions(other.pos, other.posCount);
          const want = Array.from(all.keys())
            .filter((k) => !(all[k] < lo))
            .map((k) => offset + k);
          expect(main.posCount).toBe(want.length);
          const got = main.positions();
          if (room > 0 && want.length <= room) expect(Array.from(got ?? [])).toEqual(want);
          else expect(got).toBeUndefined();
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a window from a representative sample holds the rank; NaN bounds never do", () => {
    const total = 100_000;
    const all = new Float32Array(total);
    for (let i = 0; i < total; i++) all[i] = Math.fround(Math.sin(i * 12.9898) * 43758.5453) % 1;
    const k = Math.floor(total * 0.9);
    const sample = all.filter((_, i) => i % 7 === 0);
    const w = windowFromSample(sample, k, total, 0.03);
    expect(w.lo).toBeLessThan(w.hi);
    expect(w.fraction).toBeGreaterThan(0.06);
    expect(w.fraction).toBeLessThan(0.1);
    const win = new RankWindow(w.lo, w.hi, windowCapacity(total, w.fraction));
    win.add(all);
    expect(win.resolve(k)).toBe(all.slice().sort()[k]);
    const nan = new RankWindow(Number.NaN, Number.NaN, 0);
    nan.add(all);
    expect([nan.below, nan.count, nan.resolve(k)]).toEqual([0, 0, undefined]);
    // Ends of the line: an empty sample, a rank at either end.
    expect(windowFromSample(new Float32Array(0), 0, 5, 0.03)).toEqual({
      lo: Number.NEGATIVE_INFINITY,
      hi: Number.POSITIVE_INFINITY,
      fraction: 1,
    });
    expect(windowFromSample(Float32Array.from([3, 1, 2]), 0, 3, 0).lo).toBe(Number.NEGATIVE_INFINITY);
    expect(windowFromSample(Float32Array.from([3, 1, 2]), 2, 3, 0).hi).toBe(Number.POSITIVE_INFINITY);
    expect(windowCapacity(10, 0.5)).toBe(10);
    expect(windowCapacity(1e6, 0.01)).toBe(40_000);
  });
});
