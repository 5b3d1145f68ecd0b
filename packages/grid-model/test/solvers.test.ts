import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLpSolver, type LinearProgram, LpBuilder, LpError, type LpSolver } from "../src/index.js";

const solvers: Record<string, LpSolver> = {
  highs: await createLpSolver("highs"),
  glpk: await createLpSolver("glpk"),
};

/** max 0.6x + 0.5y s.t. x + 2y <= 1, 3x + y <= 2, x, y >= 0 (toolchain.md §7.1: z = 0.46 at (0.6, 0.2)). */
function tinyLp(): LinearProgram {
  const b = new LpBuilder("max");
  b.addRow(-Infinity, 1);
  b.addRow(-Infinity, 2);
  b.addCol(0.6, 0, Infinity, [0, 1], [1, 3]);
  b.addCol(0.5, 0, Infinity, [0, 1], [2, 1]);
  return b.build();
}

/** LAD fit as a primal LP: min sum(u+v) s.t. X beta + u - v = y. */
function ladLp(X: number[][], y: number[]): LinearProgram {
  const b = new LpBuilder("min");
  for (const yt of y) b.addRow(yt, yt);
  const p = X[0]!.length;
  for (let j = 0; j < p; j++) {
    b.addCol(
      0,
      -Infinity,
      Infinity,
      y.map((_, t) => t),
      X.map((row) => row[j]!),
    );
  }
  for (let t = 0; t < y.length; t++) {
    b.addCol(1, 0, Infinity, [t], [1]);
    b.addCol(1, 0, Infinity, [t], [-1]);
  }
  return b.build();
}

describe.each(Object.keys(solvers))("LP backend %s", (name) => {
  const s = solvers[name]!;

  it("solves the worked LP with its known optimum and duals", () => {
    const sol = s.solve(tinyLp());
    expect(sol.status).toBe("optimal");
    expect(sol.objective).toBeCloseTo(0.46, 9);
    expect(sol.x[0]).toBeCloseTo(0.6, 9);
    expect(sol.x[1]).toBeCloseTo(0.2, 9);
    // Both rows bind; duals solve [1 3; 2 1]^T d = c: d = (0.18, 0.14) (marginal objective per unit rhs).
    expect(sol.rowDual![0]).toBeCloseTo(0.18, 9);
    expect(sol.rowDual![1]).toBeCloseTo(0.14, 9);
  });

  it("solves a small MILP (knapsack + bounded general integer)", () => {
    // max 5a + 4b + 3c + 2n, 2a + 3b + c + n <= 5, a,b,c binary, n integer in [0, 3]: a=1, c=1, n=2 -> 12.
    const b = new LpBuilder("max");
    b.addRow(-Infinity, 5);
    b.addCol(5, 0, 1, [0], [2], true);
    b.addCol(4, 0, 1, [0], [3], true);
    b.addCol(3, 0, 1, [0], [1], true);
    b.addCol(2, 0, 3, [0], [1], true);
    const sol = s.solve(b.build());
    expect(sol.status).toBe("optimal");
    expect(sol.objective).toBeCloseTo(12, 9);
    expect(Array.from(sol.x, Math.round)).toEqual([1, 0, 1, 2]);
  });

  it("reports infeasible and unbounded problems", () => {
    const inf = new LpBuilder("min");
    inf.addRow(2, Infinity);
    inf.addCol(1, 0, 1, [0], [1]);
    expect(s.solve(inf.build()).status).toBe("infeasible");
    const unb = new LpBuilder("max");
    unb.addRow(0, Infinity);
    unb.addCol(1, 0, Infinity, [0], [1]);
    expect(["unbounded", "infeasible"]).toContain(s.solve(unb.build()).status);
  });

  it("rejects malformed programs with a typed error", () => {
    const lp = tinyLp();
    expect(() => s.solve({ ...lp, colCost: new Float64Array(1) })).toThrow(LpError);
  });

  it("fits an exact LAD line through data with outliers", () => {
    const X: number[][] = [];
    const y: number[] = [];
    for (let t = 0; t < 40; t++) {
      X.push([1, t / 10]);
      y.push(2 - 0.5 * (t / 10) + (t % 9 === 0 ? 5 : 0));
    }
    const sol = s.solve(ladLp(X, y));
    expect(sol.status).toBe("optimal");
    expect(sol.x[0]).toBeCloseTo(2, 7);
    expect(sol.x[1]).toBeCloseTo(-0.5, 7);
    expect(sol.objective).toBeCloseTo(5 * 5, 6);
  });
});

describe("backends agree", () => {
  it("on random LAD problems (same optimum)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -500, max: 500 }), fc.integer({ min: -500, max: 500 })), {
          minLength: 4,
          maxLength: 30,
        }),
        (pts) => {
          const X = pts.map(([a]) => [1, a / 100]);
          const y = pts.map(([, b]) => b / 100);
          const h = solvers.highs!.solve(ladLp(X, y));
          const g = solvers.glpk!.solve(ladLp(X, y));
          expect(h.status).toBe("optimal");
          expect(g.status).toBe("optimal");
          expect(Math.abs(h.objective - g.objective)).toBeLessThan(1e-6 * (1 + Math.abs(h.objective)));
        },
      ),
      { numRuns: 40 },
    );
  });
});
