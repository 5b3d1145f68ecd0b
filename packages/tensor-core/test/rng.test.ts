import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../src/index.js";

describe("Rng (xoshiro128**)", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(sa);
  });

  it("resumes exactly from a serialized state, including the cached normal", () => {
    const r = new Rng("resume");
    r.normal();
    const snap = JSON.parse(JSON.stringify(r.state()));
    const expected = Array.from({ length: 20 }, () => r.normal());
    const restored = Rng.fromState(snap);
    expect(Array.from({ length: 20 }, () => restored.normal())).toEqual(expected);
  });

  it("uniform has mean 1/2 and variance 1/12; normal has mean 0 and variance 1", () => {
    const r = new Rng(7);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let z = 0;
    let z2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      s += u;
      s2 += u * u;
      const g = r.normal();
      z += g;
      z2 += g * g;
    }
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12)).toBeLessThan(0.002);
    expect(Math.abs(z / n)).toBeLessThan(0.01);
    expect(Math.abs(z2 / n - 1)).toBeLessThan(0.02);
  });

  it("int is unbiased over a small range (chi-square)", () => {
    const r = new Rng(1);
    const k = 7;
    const counts = new Array(k).fill(0);
    const n = 70_000;
    for (let i = 0; i < n; i++) counts[r.int(k)]++;
    const chi = counts.reduce((acc, c) => acc + (c - n / k) ** 2 / (n / k), 0);
    expect(chi).toBeLessThan(22.46); // p = 0.001, 6 degrees of freedom
  });

  it("permutation and sampleWithoutReplacement return distinct in-range indices", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const r = new Rng(seed);
        const p = r.permutation(n);
        expect([...p].sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
        const k = Math.floor(n / 2);
        const s = r.sampleWithoutReplacement(n, k);
        expect(new Set(s).size).toBe(k);
        for (const v of s) expect(v).toBeLessThan(n);
      }),
    );
  });
});
