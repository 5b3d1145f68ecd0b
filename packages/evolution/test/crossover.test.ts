import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  crossoverStream,
  DenseBinomialStream,
  ExponentialStream,
  ForcedCoordinateStream,
  GeometricBinomialStream,
  type PositionStream,
} from "../src/crossover.js";
import { binomialPmf, chiSquare, chiSquareCritical } from "./stats.js";

function drain(s: PositionStream, block = 7): number[] {
  const out: number[] = [];
  const buf = new Uint32Array(block);
  for (;;) {
    const n = s.next(buf);
    if (n === 0) return out;
    for (let i = 0; i < n; i++) out.push(buf[i]);
  }
}

describe.each([
  ["dense", (rng: Rng, d: number, cr: number) => new DenseBinomialStream(rng, d, cr)],
  ["geometric", (rng: Rng, d: number, cr: number) => new GeometricBinomialStream(rng, d, cr)],
])("binomial crossover, %s sampling", (_name, make) => {
  const D = 60;
  const CR = 0.07;
  const M = 20000;

  it("count of crossed coordinates follows Binomial(D, CR) (chi-square, p = 0.001)", () => {
    const rng = new Rng(123);
    const counts = new Float64Array(D + 1);
    for (let m = 0; m < M; m++) counts[drain(make(rng, D, CR)).length]++;
    const pmf = binomialPmf(D, CR);
    const { stat, df } = chiSquare(
      counts,
      Array.from(pmf, (p) => p * M),
    );
    expect(df).toBeGreaterThan(3);
    expect(stat).toBeLessThan(chiSquareCritical(df));
  });

  it("crossed positions are uniform over coordinates (chi-square, p = 0.001)", () => {
    const rng = new Rng(321);
    const hits = new Float64Array(D);
    let total = 0;
    for (let m = 0; m < M; m++) {
      for (const p of drain(make(rng, D, CR))) {
        hits[p]++;
        total++;
      }
    }
    const { stat, df } = chiSquare(hits, new Float64Array(D).fill(total / D));
    expect(df).toBe(D - 1);
    expect(stat).toBeLessThan(chiSquareCritical(df));
  });

  it("pairs of coordinates are independent: P(d and d+1 both crossed) = CR^2", () => {
    const rng = new Rng(99);
    let both = 0;
    for (let m = 0; m < M; m++) {
      const s = new Set(drain(make(rng, D, CR)));
      if (s.has(10) && s.has(11)) both++;
    }
    const p = CR * CR;
    const sd = Math.sqrt((p * (1 - p)) / M);
    expect(Math.abs(both / M - p)).toBeLessThan(4 * sd);
  });

  it("positions are strictly ascending and inside [0, D) (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        (d, cr, seed) => {
          const pos = drain(make(new Rng(seed), d, cr), 3);
          for (let i = 0; i < pos.length; i++) {
            expect(pos[i]).toBeGreaterThanOrEqual(0);
            expect(pos[i]).toBeLessThan(d);
            if (i > 0) expect(pos[i]).toBeGreaterThan(pos[i - 1]);
          }
          if (cr === 1) expect(pos.length).toBe(d);
          if (cr === 0) expect(pos.length).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("geometric sampling cost", () => {
  it("draws one uniform per crossed coordinate (plus one), not one per coordinate", () => {
    const rng = new Rng(5);
    const probe = rng.clone();
    const D = 10_000_000;
    const pos = drain(new GeometricBinomialStream(rng, D, 1e-6), 1024);
    // Replaying the same number of uniforms on a clone must land on the same state.
    for (let i = 0; i < pos.length + 1; i++) probe.uniform();
    expect(probe.state()).toEqual(rng.state());
    expect(pos.length).toBeLessThan(40);
  });
});

describe("forced j_rand", () => {
  it("always includes j, keeps the output ascending and duplicate-free", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        (d, cr, seed) => {
          const rng = new Rng(seed);
          const j = rng.int(d);
          const pos = drain(new ForcedCoordinateStream(new GeometricBinomialStream(rng, d, cr), j), 4);
          expect(pos).toContain(j);
          for (let i = 1; i < pos.length; i++) expect(pos[i]).toBeGreaterThan(pos[i - 1]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("with CR = 0 crosses exactly one coordinate, uniformly chosen", () => {
    const rng = new Rng(8);
    const D = 20;
    const hits = new Float64Array(D);
    for (let m = 0; m < 10000; m++) {
      const pos = drain(crossoverStream({ kind: "binomial", forceJRand: true }, rng, D, 0));
      expect(pos.length).toBe(1);
      hits[pos[0]]++;
    }
    const { stat, df } = chiSquare(hits, new Float64Array(D).fill(10000 / D));
    expect(stat).toBeLessThan(chiSquareCritical(df));
  });

  it("without j_rand and tiny CR, most children cross nothing (CADE's quirk)", () => {
    const rng = new Rng(9);
    let empty = 0;
    for (let m = 0; m < 1000; m++)
      if (drain(crossoverStream({ kind: "binomial" }, rng, 1000, 1e-5)).length === 0) empty++;
    expect(empty).toBeGreaterThan(970); // P(empty) = (1 - 1e-5)^1000 ≈ 0.990
  });
});

describe("exponential crossover", () => {
  it("crosses a contiguous wrapping segment whose length is 1 + Geometric successes", () => {
    const rng = new Rng(77);
    const D = 30;
    const CR = 0.6;
    const M = 20000;
    const lengths = new Float64Array(D + 1);
    for (let m = 0; m < M; m++) {
      const pos = drain(new ExponentialStream(rng, D, CR));
      for (let i = 1; i < pos.length; i++) expect(pos[i]).toBe((pos[i - 1] + 1) % D);
      lengths[pos.length]++;
    }
    const expected = new Float64Array(D + 1);
    for (let l = 1; l < D; l++) expected[l] = M * CR ** (l - 1) * (1 - CR);
    expected[D] = M * CR ** (D - 1);
    const { stat, df } = chiSquare(lengths, expected);
    expect(stat).toBeLessThan(chiSquareCritical(df));
  });
});
