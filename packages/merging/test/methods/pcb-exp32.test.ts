// exp32 replaces fround(Math.exp(y)) in the balance score; it must return exactly the same float32
// for every input (checked exhaustively for all float32 y in [0, 8] once; sampled here).
import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exp32, expTable } from "../../src/pcb/exp32.js";

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
