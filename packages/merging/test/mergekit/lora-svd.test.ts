// The truncated SVD behind LoRA extraction: exact on small or low-rank matrices, and within the
// Eckart–Young bound on matrices with slowly decaying spectra (what full fine-tunes' task vectors have).

import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { truncatedSvd } from "../../src/index.js";

/** A = U·diag(σ)·Vᵀ with random orthonormal U [m, t], V [n, t] (float32), and its exact σ. */
function withSpectrum(m: number, n: number, sigma: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  const orth = (rows: number) => {
    const g = new Matrix(rows, sigma.length);
    for (let i = 0; i < rows; i++) for (let j = 0; j < sigma.length; j++) g.set(i, j, rng.normal());
    return new SingularValueDecomposition(g, { autoTranspose: true }).leftSingularVectors;
  };
  const u = orth(m);
  const v = orth(n);
  const a = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < sigma.length; c++) s += u.get(i, c) * sigma[c] * v.get(j, c);
      a[i * n + j] = s;
    }
  }
  return a;
}

function frobeniusSq(a: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * a[k];
  return s;
}

/** ‖A − U·diag(s)·Vᵀ‖²_F, and the largest |XᵀX − I| of U and V. */
function check(a: Float32Array, m: number, n: number, r: ReturnType<typeof truncatedSvd>) {
  let err = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < r.k; c++) s += r.u[i * r.k + c] * r.s[c] * r.v[j * r.k + c];
      err += (a[i * n + j] - s) ** 2;
    }
  }
  let orth = 0;
  for (const [x, rows] of [
    [r.u, m],
    [r.v, n],
  ] as const) {
    for (let p = 0; p < r.k; p++) {
      for (let q = 0; q < r.k; q++) {
        let d = 0;
        for (let i = 0; i < rows; i++) d += x[i * r.k + p] * x[i * r.k + q];
        orth = Math.max(orth, Math.abs(d - (p === q ? 1 : 0)));
      }
    }
  }
  return { err, orth };
}

function exactSingularValues(a: Float32Array, m: number, n: number): number[] {
  const mat = new Matrix(m, n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) mat.set(i, j, a[i * n + j]);
  return new SingularValueDecomposition(mat, {
    autoTranspose: true,
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  }).diagonal;
}

describe("truncatedSvd", () => {
  it("recovers an exactly low-rank matrix (randomized path) to float32 rounding", () => {
    const sigma = [3e-2, 1e-2, 5e-3, 1e-3];
    const a = withSpectrum(120, 90, sigma, 1);
    const r = truncatedSvd(a, 120, 90, 8);
    expect(r.method).toBe("randomized");
    const { err, orth } = check(a, 120, 90, r);
    expect(Math.sqrt(err / frobeniusSq(a))).toBeLessThan(1e-6);
    expect(orth).toBeLessThan(1e-12);
    for (let i = 0; i < 4; i++) expect(Math.abs(r.s[i] - sigma[i]) / sigma[0]).toBeLessThan(1e-6);
  });

  it("meets the Eckart–Young error on slowly decaying spectra (power iterations 2)", () => {
    for (const [name, sigma] of [
      ["power -0.5", Array.from({ length: 80 }, (_, i) => 1e-3 * (i + 1) ** -0.5)],
      ["exp(-i/20)", Array.from({ length: 80 }, (_, i) => 1e-3 * Math.exp(-i / 20))],
    ] as const) {
      const m = 160;
      const n = 120;
      const rank = 16;
      const a = withSpectrum(m, n, sigma, 2);
      const r = truncatedSvd(a, m, n, rank);
      const optimal = sigma.slice(rank).reduce((s, x) => s + x * x, 0);
      const { err, orth } = check(a, m, n, r);
      // Never better than the optimum (up to the float32 rounding of A), at most 1 % worse in norm.
      expect(Math.sqrt(err / optimal), name).toBeGreaterThan(1 - 1e-4);
      expect(Math.sqrt(err / optimal), name).toBeLessThan(1.01);
      expect(orth).toBeLessThan(1e-12);
      // The error the singular values predict is the actual one: ‖A‖² − Σ s² (orthogonal projections).
      expect(Math.abs(frobeniusSq(a) - r.s.reduce((s, x) => s + x * x, 0) - err) / err).toBeLessThan(1e-6);
    }
  });

  it("any matrix: orthonormal factors, s below the exact singular values, error at least optimal", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.constantFrom(0, 1, 2),
        (m, n, rank, seed, q) => {
          const rng = new Rng(seed);
          const a = Float32Array.from({ length: m * n }, () => rng.normal());
          const r = truncatedSvd(a, m, n, rank, { oversample: 2, powerIterations: q, seed });
          const exact = exactSingularValues(a, m, n);
          expect(r.k).toBe(Math.min(rank, m, n));
          const { err, orth } = check(a, m, n, r);
          expect(orth).toBeLessThan(1e-9);
          for (let i = 0; i < r.k; i++) {
            expect(r.s[i]).toBeLessThanOrEqual(exact[i] * (1 + 1e-9) + 1e-12);
            if (i > 0) expect(r.s[i]).toBeLessThanOrEqual(r.s[i - 1]);
          }
          const optimal = exact.slice(r.k).reduce((s, x) => s + x * x, 0);
          expect(err).toBeGreaterThanOrEqual(optimal * (1 - 1e-9) - 1e-9);
          if (r.method === "exact") expect(err).toBeLessThanOrEqual(optimal * (1 + 1e-9) + 1e-9);
        },
      ),
      { numRuns: 120 },
    );
  });
});
