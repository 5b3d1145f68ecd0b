// exp32 replaces fround(Math.exp(y)) in the balance score; it must return exactly the same float32
// for every input (checked exhaustively for all float32 y in [0, 8] once; sampled here). scoreRow's
// cache of exp(n·h²) by |x| must not change a single score.
import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exp32, expTable } from "../../src/pcb/exp32.js";
import { MagnitudeStats, scoreRow } from "../../src/pcb/score.js";

const f = Math.fround;

describe("exp32", () => {
  it("equals fround(Math.exp(y)) on a dense sample of float32 y in [0, 64] and near table knots", () => {
    const table = expTable(64);
    const rng = new Rng(3);
    const bits = new Uint32Array(1);
    const asF = new Float32Array(bits.buffer);
    let checked = 0;
    for (let i = 0; i < 300_000; i++) {
      // Uniform over float32 bit patterns of [0, 64] (covers tiny and subnormal y too) ...
      bits[0] = rng.int(0x42800001);
      const y = asF[0];
      expect(exp32(y, table)).toBe(f(Math.exp(y)));
      // ... and values a few ulps from the knots j/1024 and the midpoints between knots.
      const knot = f((rng.int(64 * 2048) / 2048) * (1 + (rng.int(9) - 4) * 2 ** -23));
      expect(exp32(knot, table)).toBe(f(Math.exp(knot)));
      checked += 2;
    }
    expect(checked).toBe(600_000);
  });

  it("falls back to Math.exp outside the table: negatives, huge, ±Inf, NaN, −0", () => {
    const table = expTable(4);
    fc.assert(
      fc.property(fc.float({ noNaN: false }), (y) => {
        expect(Object.is(exp32(y, table), f(Math.exp(y)))).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // Huge y once wrapped the int32 table index into range (3707655684096 · 1024 overflows).
    for (const y of [
      -0,
      0,
      -1,
      4.5,
      1e6,
      2 ** 21,
      3707655684096,
      873174401024,
      Infinity,
      -Infinity,
      Number.NaN,
    ]) {
      expect(Object.is(exp32(y, table), f(Math.exp(y)))).toBe(true);
    }
    expect(exp32(3, new Float64Array(0))).toBe(f(Math.exp(3)));
  });
});

describe("scoreRow intra-factor cache", () => {
  /** The balance score without the cache: B = fround(fround(exp(n·h²)) · tanh32(fround(x·c))). */
  function plainScores(
    t: Float32Array,
    colSum: Float32Array,
    n: number,
    mag: MagnitudeStats,
    i: number,
  ): Float32Array {
    const out = new Float32Array(t.length);
    for (let k = 0; k < t.length; k++) {
      const x = t[k];
      const a = Math.min(Math.max(Math.abs(x), mag.lo[i]), mag.hi[i]);
      const h = f(f(a - mag.min[i]) / mag.range[i]);
      const y = f(x * colSum[k]);
      const th = Math.abs(y) < 2 ** -12 ? y : f(Math.tanh(y));
      out[k] = f(f(Math.exp(f(n * f(h * h)))) * th);
    }
    return out;
  }

  it("gives the uncached scores on BF16-like (repeating) and continuous values, in place or not", () => {
    const rng = new Rng(12);
    const d = 50_000;
    for (const quantized of [true, false]) {
      const t = new Float32Array(d);
      const c = new Float32Array(d);
      for (let k = 0; k < d; k++) {
        const v = rng.normal(0, 0.01) * (rng.uniform() < 0.01 ? 30 : 1);
        t[k] = quantized ? Math.round(v * 2048) / 2048 : v; // few distinct |x| → cache hits
        c[k] = t[k] * 2 + rng.normal(0, 0.3);
        if (k % 7 === 0) t[k] = -t[k]; // same |x| with both signs share a cache slot
      }
      t[3] = Number.NaN;
      t[5] = -0;
      const mag = new MagnitudeStats(Float32Array.from([0, 1e-4]), Float32Array.from([0, 0.02]), "on");
      const want = plainScores(t, c, 4, mag, 1);
      expect(scoreRow(1, t, 4, c, mag, "on", new Float32Array(d))).toEqual(want);
      const inPlace = t.slice();
      expect(scoreRow(1, inPlace, 4, c, mag, "on", inPlace)).toEqual(want);
    }
  });
});
