import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { branchLoss } from "../src/identify/branch-fit.js";
import { dedupeLibrary, fitBranchLibrary } from "../src/identify/library.js";
import { weightedMedian } from "../src/identify/stats.js";
import {
  type BranchSamples,
  createLpSolver,
  fitBranchLad,
  fitBranchLs,
  type LibraryConductor,
} from "../src/index.js";

const highs = await createLpSolver("highs");
const glpk = await createLpSolver("glpk");

/** Exact DistFlow branch samples for (r, x) with receiving-end flows drawn around (pMean, qMean). */
function samples(r: number, x: number, T: number, seed = 1, noise = 0): BranchSamples {
  const rng = new Rng(seed);
  const y = new Float64Array(T);
  const a = new Float64Array(T);
  const b = new Float64Array(T);
  const c = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const P = 0.3 * Math.exp(rng.normal(0, 0.4));
    const Q = P * 0.5 * Math.exp(rng.normal(0, 0.4));
    const vj = 0.95 + 0.03 * rng.uniform();
    const l = (P * P + Q * Q) / vj;
    a[t] = 2 * P;
    b[t] = 2 * Q;
    c[t] = l;
    y[t] = 2 * r * P + 2 * x * Q + (r * r + x * x) * l + noise * rng.normal();
  }
  return { y, a, b, c };
}

describe("per-branch fits on exact DistFlow data", () => {
  const cases = [
    [0.01, 0.02],
    [0.004, 0.0013],
    [3e-5, 7.5e-5],
  ] as const;
  it.each(cases)("LS recovers r=%f x=%f to 1e-6 relative", (r, x) => {
    const fit = fitBranchLs(samples(r, x, 200));
    expect(Math.abs(fit.r - r) / r).toBeLessThan(1e-6);
    expect(Math.abs(fit.x - x) / x).toBeLessThan(1e-6);
  });
  it.each(cases)("LAD (HiGHS, dual form) recovers r=%f x=%f with an exact relaxation", (r, x) => {
    const fit = fitBranchLad(samples(r, x, 200), highs);
    expect(Math.abs(fit.r - r) / r).toBeLessThan(1e-6);
    expect(Math.abs(fit.x - x) / x).toBeLessThan(1e-6);
    expect(fit.loss).toBeLessThan(1e-9);
  });
  it("LAD dual and primal forms, HiGHS and glpk.js agree", () => {
    const s = samples(0.01, 0.02, 120, 4, 1e-4);
    const fits = [
      fitBranchLad(s, highs, { form: "dual" }),
      fitBranchLad(s, highs, { form: "primal" }),
      fitBranchLad(s, glpk, { form: "dual" }),
      fitBranchLad(s, glpk, { form: "primal" }),
    ];
    const best = Math.min(...fits.map((f) => f.loss));
    // HiGHS's two forms agree to machine precision; glpk.js lands within its looser default
    // tolerances (its dual-form w can be off, which the exactness check catches and repairs).
    expect(fits[1]!.loss).toBeCloseTo(fits[0]!.loss, 12);
    for (const f of fits) {
      expect(f.loss).toBeLessThan(best * 1.005);
      expect(Math.abs(f.r / fits[0]!.r - 1)).toBeLessThan(1e-3);
      expect(Math.abs(f.x / fits[0]!.x - 1)).toBeLessThan(1e-3);
    }
  });
});

describe("robustness and relaxation", () => {
  it("LAD ignores gross errors that bias LS", () => {
    const r = 0.01;
    const x = 0.02;
    const s = samples(r, x, 400, 2, 1e-5);
    for (let t = 0; t < 400; t += 50) s.y[t] = s.y[t]! + 0.02; // 2 % of samples, +0.02 pu² spikes
    const lad = fitBranchLad(s, highs);
    const ls = fitBranchLs(s);
    const err = (f: { r: number; x: number }) => Math.hypot(f.r - r, f.x - x) / Math.hypot(r, x);
    expect(err(lad)).toBeLessThan(0.01);
    expect(err(ls)).toBeGreaterThan(5 * err(lad));
  });

  it("LAD never does worse than the exact-model loss at the LS estimate (it minimises it)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
        const s = samples(0.008, 0.012, 60, seed, 3e-4);
        const lad = fitBranchLad(s, highs);
        const ls = fitBranchLs(s);
        expect(lad.loss).toBeLessThanOrEqual(branchLoss(s, ls.r, ls.x, "lad") * (1 + 1e-6));
        expect(lad.r).toBeGreaterThanOrEqual(0);
        expect(lad.x).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 15 },
    );
  });

  it("reports a non-negative relaxation gap and repairs inexact relaxations onto the cone", () => {
    let inexact = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const s = samples(2e-4, 3e-4, 80, seed, 2e-4);
      const fit = fitBranchLad(s, highs);
      expect(fit.gap).toBeGreaterThanOrEqual(-1e-9);
      if (!fit.exact) inexact++;
      expect(Number.isFinite(fit.r) && Number.isFinite(fit.x)).toBe(true);
    }
    expect(inexact).toBeGreaterThan(0);
  });
});

describe("conductor library", () => {
  const lib: LibraryConductor[] = [
    { id: "A", rPuPerKm: 0.02, xPuPerKm: 0.04 },
    { id: "B", rPuPerKm: 0.05, xPuPerKm: 0.025 },
    { id: "B2", rPuPerKm: 0.05, xPuPerKm: 0.025 },
    { id: "C", rPuPerKm: 0.01, xPuPerKm: 0.011 },
  ];
  it("groups identical R/X entries into one family", () => {
    expect(dedupeLibrary(lib).map((g) => g.members)).toEqual([["A"], ["B", "B2"], ["C"]]);
  });
  it.each(["lad", "ls"] as const)("%s enumeration picks the type and length", (kind) => {
    const L = 0.37;
    const s = samples(0.05 * L, 0.025 * L, 150, 3, 1e-6);
    const fit = fitBranchLibrary(s, lib, kind);
    expect(fit.conductor).toBe("B");
    expect(fit.ties).toEqual(["B2"]);
    expect(fit.lengthKm).toBeCloseTo(L, 3);
  });
});

describe("weighted median", () => {
  it("minimises the weighted absolute deviation (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -100, max: 100 }), fc.integer({ min: 1, max: 9 })), {
          minLength: 1,
          maxLength: 30,
        }),
        (pts) => {
          const v = Float64Array.from(pts, ([a]) => a);
          const w = Float64Array.from(pts, ([, b]) => b);
          const m = weightedMedian(v, w);
          const cost = (c: number) => pts.reduce((s, [a, b]) => s + b * Math.abs(a - c), 0);
          for (const [a] of pts) expect(cost(m)).toBeLessThanOrEqual(cost(a) + 1e-9);
        },
      ),
    );
  });
});
