import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { seriesGram } from "../src/identify/gram.js";
import { identifyTopology, type MeterSeries, searchTree } from "../src/identify/index.js";
import { TreeScorer } from "../src/identify/tree-scorer.js";
import * as publicApi from "../src/index.js";
import { ieee13, ieee37, mergeNegligibleBranches } from "../src/index.js";
import { generateMeterData } from "./identify-fixtures.js";

/**
 * Direct O(N·T) evaluation of the search's objective (the reference for the Gram-matrix shortcut): per branch the
 * no-intercept LS fit of w_π − w_e on the subtree sums of p and q, residuals summed along root paths, then
 * Σ_k ‖U_k‖² − ‖Σ_k U_k‖² / N.
 */
function directScore(d: MeterSeries, parent: Int32Array, nonNegative: boolean): number {
  const N = d.busNames.length;
  const T = d.samples;
  const w = d.vm.map((s) => Float64Array.from(s, (x, t) => x * x - d.vm[d.root]![t]! ** 2));
  const order = [d.root];
  for (let h = 0; h < order.length; h++)
    for (let k = 0; k < N; k++) if (k !== d.root && parent[k] === order[h]) order.push(k);
  const P = d.p.map((s) => Float64Array.from(s));
  const Q = d.q.map((s) => Float64Array.from(s));
  for (let h = N - 1; h >= 1; h--) {
    const k = order[h]!;
    const i = parent[k]!;
    if (i === d.root) continue;
    for (let t = 0; t < T; t++) {
      P[i]![t] += P[k]![t]!;
      Q[i]![t] += Q[k]![t]!;
    }
  }
  const U = Array.from({ length: N }, () => new Float64Array(T));
  const sum = new Float64Array(T);
  let total = 0;
  for (let h = 1; h < N; h++) {
    const k = order[h]!;
    const i = parent[k]!;
    let aa = 0;
    let ab = 0;
    let bb = 0;
    let ya = 0;
    let yb = 0;
    for (let t = 0; t < T; t++) {
      const y = w[i]![t]! - w[k]![t]!;
      aa += P[k]![t]! ** 2;
      ab += P[k]![t]! * Q[k]![t]!;
      bb += Q[k]![t]! ** 2;
      ya += y * P[k]![t]!;
      yb += y * Q[k]![t]!;
    }
    const det = aa * bb - ab * ab;
    let b1 = (bb * ya - ab * yb) / det;
    let b2 = (aa * yb - ab * ya) / det;
    if (nonNegative && (b1 < 0 || b2 < 0)) {
      // Boundary candidates of the 2-variable NNLS: r only, x only, or zero; keep the smallest residual.
      const rss = (u: number, v: number) => -2 * (u * ya + v * yb) + u * u * aa + 2 * u * v * ab + v * v * bb;
      const cands: [number, number][] = [
        [0, 0],
        [Math.max(0, ya / aa), 0],
        [0, Math.max(0, yb / bb)],
      ];
      [b1, b2] = cands.reduce((best, c) => (rss(c[0], c[1]) < rss(best[0], best[1]) ? c : best));
    }
    for (let t = 0; t < T; t++) {
      const r = w[i]![t]! - w[k]![t]! - b1 * P[k]![t]! - b2 * Q[k]![t]!;
      U[k]![t] = U[i]![t]! + r;
      total += U[k]![t]! ** 2;
      sum[t] += U[k]![t]!;
    }
  }
  let common = 0;
  for (let t = 0; t < T; t++) common += sum[t]! ** 2;
  return total - common / N;
}

function randomSeries(N: number, T: number, seed: number): MeterSeries {
  const rng = new Rng(seed);
  const mk = (f: () => number) => Array.from({ length: N }, () => Float64Array.from({ length: T }, f));
  return {
    busNames: Array.from({ length: N }, (_, k) => `b${k}`),
    root: 0,
    samples: T,
    vm: mk(() => 0.95 + 0.1 * rng.uniform()),
    p: mk(() => rng.uniform()),
    q: mk(() => 0.5 * rng.uniform()),
  };
}

describe("likelihood tree search", () => {
  it("scores a tree from the Gram matrix exactly as the direct residual computation (property)", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 3, max: 9 })
          .chain((N) =>
            fc.tuple(
              fc.constant(N),
              fc.array(fc.nat(), { minLength: N - 1, maxLength: N - 1 }),
              fc.nat(),
              fc.boolean(),
            ),
          ),
        ([N, links, seed, nonNegative]) => {
          const d = randomSeries(N, 40, seed);
          const parent = new Int32Array(N).fill(-1);
          for (let k = 1; k < N; k++) parent[k] = links[k - 1]! % k;
          const got = searchTree(d, parent, { maxSweeps: 0, nonNegative }).initialScore;
          const want = directScore(d, parent, nonNegative);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("scores a move incrementally exactly as a full evaluation of the moved tree (property)", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 3, max: 12 })
          .chain((N) =>
            fc.tuple(
              fc.constant(N),
              fc.array(fc.nat(), { minLength: N - 1, maxLength: N - 1 }),
              fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 }),
              fc.nat(),
            ),
          ),
        ([N, links, moves, seed]) => {
          const d = randomSeries(N, 30, seed);
          const parent = new Int32Array(N).fill(-1);
          for (let k = 1; k < N; k++) parent[k] = links[k - 1]! % k;
          const { G } = seriesGram(d);
          const scorer = new TreeScorer(G, N, 0);
          const base = scorer.setTree(parent);
          const cand = Int32Array.from(parent);
          const moved: number[] = [];
          for (const [a, b] of moves) {
            const k = 1 + (a % (N - 1));
            cand[k] = b % N;
            moved.push(k);
          }
          const delta = scorer.delta(cand, Int32Array.from(moved), moved.length);
          const full = new TreeScorer(G, N, 0).setTree(cand);
          if (!Number.isFinite(full)) {
            expect(delta).toBe(Number.POSITIVE_INFINITY);
            return;
          }
          expect(Math.abs(base + delta - full)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(full)));
          // The scorer's own tree is unchanged by an evaluation.
          expect(scorer.score).toBe(base);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps the best of several starts (extraStarts) and reports which", () => {
    const f = ieee37();
    const d = generateMeterData(f, { samples: 400, model: "lindistflow", seed: 5 });
    const star = new Int32Array(f.parent.length).fill(0);
    star[0] = -1;
    const res = searchTree(d, star, { maxSweeps: 0, extraStarts: [star, f.parent] });
    expect(res.startIndex).toBe(2);
    expect(Array.from(res.parent)).toEqual(Array.from(f.parent));
    expect(res.score).toBeLessThan(res.initialScore);
    expect(() => searchTree(d, star, { extraStarts: [new Int32Array(3)] })).toThrow(/3 entries/);
  });

  it("takes a Gram matrix and loss correction formed once with the public seriesGram and lossCorrection", () => {
    const f = ieee37();
    const d = generateMeterData(f, { samples: 300, seed: 7 });
    const star = new Int32Array(f.parent.length).fill(0);
    star[0] = -1;
    const correction = publicApi.lossCorrection(d, f.parent);
    expect(correction).toBeDefined();
    const own = publicApi.searchTree(d, star, { correction });
    const given = publicApi.searchTree(d, star, { correction, gram: publicApi.seriesGram(d, correction) });
    expect(Array.from(given.parent)).toEqual(Array.from(own.parent));
    expect(given.score).toBe(own.score);
    // The given matrix is the one scored: the uncorrected series' Gram matrix scores the same tree differently.
    const uncorrected = publicApi.searchTree(d, own.parent, {
      correction,
      gram: publicApi.seriesGram(d),
      maxSweeps: 0,
    });
    expect(uncorrected.score).not.toBe(own.score);
  });

  it("rejects a parent array that is not a tree", () => {
    const d = randomSeries(4, 10, 1);
    expect(() => searchTree(d, Int32Array.from([-1, 2, 3, 1]))).toThrow(/not a tree/);
  });

  it.each([
    ["ieee13", mergeNegligibleBranches(ieee13())],
    ["ieee37", ieee37()],
  ])("finds the true %s tree from a star on noise-free LinDistFlow data", (_, f) => {
    const d = generateMeterData(f, { samples: 400, model: "lindistflow", seed: 4 });
    const star = new Int32Array(f.parent.length).fill(0);
    star[0] = -1;
    const res = searchTree(d, star);
    expect(Array.from(res.parent)).toEqual(Array.from(f.parent));
    expect(res.score).toBeLessThan(1e-9 * res.initialScore);
    expect(res.moves).toBeGreaterThan(0);
  });

  it("keeps the true tree of noise-free AC data after loss correction", () => {
    const f = ieee37();
    const d = generateMeterData(f, { samples: 1500, seed: 6 });
    const truth = identifyTopology(d, { method: "likelihood" });
    expect(Array.from(truth.parent)).toEqual(Array.from(f.parent));
  });
});
