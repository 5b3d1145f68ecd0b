// The speed-ups of identifyGrid promise bit-identical results; these are the invariants behind that promise: the
// blocked Gram matrix adds every pair's products in sample order (as one plain loop would), the selection median
// returns exactly the sorted median (zero signs and NaN included), and the lazily computed margins of the tree
// search equal the eagerly computed ones of the same tree.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gramOf } from "../src/identify/gram.js";
import { median } from "../src/identify/stats.js";
import { ieee13, searchTree } from "../src/index.js";
import { generateMeterData } from "./identify-fixtures.js";

const sortedMedian = (a: readonly number[]) => {
  const s = Float64Array.from(a).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

describe("bit-identical speed-ups", () => {
  it("gramOf equals the plain in-order sums exactly, across block boundaries and odd sizes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 11 }),
        fc.integer({ min: 1, max: 1300 }),
        fc.integer({ min: 1, max: 1e6 }),
        (K, T, seed) => {
          let x = seed;
          const rnd = () => {
            x = (x * 16807) % 2147483647;
            return x / 2147483647 - 0.5;
          };
          const basis = Array.from({ length: K }, () => Float64Array.from({ length: T }, rnd));
          const G = gramOf(basis, T);
          for (let a = 0; a < K; a++)
            for (let b = 0; b < K; b++) {
              let s = 0;
              for (let t = 0; t < T; t++) s += basis[a]![t]! * basis[b]![t]!;
              if (!Object.is(G[a * K + b], s)) return false;
            }
          return true;
        },
      ),
      { numRuns: 40 },
    );
  });

  it("median by selection is the sorted median, signed zeros and NaN included", () => {
    const value = fc.oneof(
      fc.double({ noNaN: true, min: -1e3, max: 1e3 }),
      fc.constantFrom(0, -0, 1, -1, Number.NaN),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 200 }), (a) =>
        Object.is(median(a), sortedMedian(a)),
      ),
      { numRuns: 500 },
    );
  });

  it("margins read after the search equal a search whose margins are read at once", () => {
    const d = generateMeterData(ieee13(), { samples: 600, seed: 5, sigmaV: 1e-4, sigmaPq: 1e-3 });
    const star = Int32Array.from(d.busNames, (_, j) => (j === d.root ? -1 : d.root));
    const a = searchTree(d, star);
    const eager = Float64Array.from(a.margin);
    const b = searchTree(d, star);
    searchTree(d, Int32Array.from(a.parent)); // another search in between does not touch b's scorer
    expect([...b.parent]).toEqual([...a.parent]);
    expect(b.score).toBe(a.score);
    expect(Array.from(b.margin, String)).toEqual(Array.from(eager, String));
    expect(a.margin).toBe(a.margin); // computed once
    // At a local optimum no move that removes an edge improves the score.
    for (const [j, m] of b.margin.entries()) {
      if (j === d.root) expect(m).toBeNaN();
      else expect(m).toBeGreaterThanOrEqual(0);
    }
  });
});
