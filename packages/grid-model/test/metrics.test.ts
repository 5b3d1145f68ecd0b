import { describe, expect, it } from "vitest";
import { evaluateIdentification, type IdentifiedBranch, ieee13, MetricsError } from "../src/index.js";
import { conductorKey } from "../src/metrics/metrics.js";

describe("identification metrics", () => {
  const f = ieee13();
  const truth: IdentifiedBranch[] = f.branches.map((b) => ({
    from: f.buses[b.from]!.name,
    to: f.buses[b.to]!.name,
    rPu: b.rPu,
    xPu: b.xPu,
  }));

  it("scores the true model as perfect", () => {
    const m = evaluateIdentification(f, truth);
    expect(m).toMatchObject({
      edgeAccuracy: 1,
      exactTree: true,
      mapeR: 0,
      mapeX: 0,
      medianApeZ: 0,
      within5: 1,
    });
    expect(m.conductorAccuracy).toBeNull();
  });

  it("worked example: one edge rewired, r +10 % on one branch, orientation ignored", () => {
    const est = truth.map((b) => ({ ...b }));
    // Reverse the orientation of branch 0 (same undirected edge).
    est[0] = { ...est[0]!, from: est[0]!.to, to: est[0]!.from };
    est[1] = { ...est[1]!, rPu: est[1]!.rPu * 1.1 };
    // Rewire the last branch to hang from the root instead.
    const last = est.length - 1;
    est[last] = { ...est[last]!, from: f.buses[0]!.name };
    const m = evaluateIdentification(f, est);
    // The 671–692 switch (1e-4 Ω) merges its two buses: 12 comparable edges.
    const E = f.branches.length - 1;
    expect(evaluateIdentification(f, truth).edges).toBe(E);
    expect(m.correctEdges).toBe(E - 1);
    expect(m.edgeAccuracy).toBeCloseTo((E - 1) / E, 12);
    expect(m.exactTree).toBe(false);
    expect(m.mapeR).toBeCloseTo(10 / (E - 1), 9);
    expect(m.mapeX).toBe(0);
    expect(m.medianApeR).toBe(0);
  });

  it("counts a conductor tie as a match and reports length MAPE", () => {
    const withCond = f.branches.filter((b) => b.conductor !== undefined && b.lengthKm !== undefined);
    expect(withCond.length).toBeGreaterThan(2);
    const est = truth.map((b, k) => {
      const br = f.branches[k]!;
      if (br.conductor === undefined || br.lengthKm === undefined) return b;
      return k % 2 === 0
        ? { ...b, conductor: "other", ties: [br.conductor], lengthKm: br.lengthKm * 1.2 }
        : { ...b, conductor: "wrong", lengthKm: br.lengthKm };
    });
    const m = evaluateIdentification(f, est);
    const even = f.branches.filter(
      (b, k) => k % 2 === 0 && b.conductor !== undefined && b.lengthKm !== undefined,
    ).length;
    expect(m.conductorAccuracy).toBeCloseTo(even / withCond.length, 12);
    expect(m.lengthMape).toBeCloseTo((20 * even) / withCond.length, 9);
  });

  it("compares conductor ids without the library family prefix", () => {
    expect(conductorKey("ieee-721")).toBe("721");
    expect(conductorKey("mtx601")).toBe("601");
    expect(conductorKey("ieee13-mtx606")).toBe("606");
    expect(conductorKey("pp-NAYY_4x50_SE")).toBe("NAYY_4x50_SE");
  });

  it("rejects unknown bus names with a typed error", () => {
    expect(() => evaluateIdentification(f, [{ from: "650", to: "nope", rPu: 1, xPu: 1 }])).toThrow(
      MetricsError,
    );
  });
});
