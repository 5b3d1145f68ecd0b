import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  builtinFeeder,
  builtinFeederNames,
  case69,
  contractBranches,
  evaluateContractedTopology,
  evaluateIdentification,
  type Feeder,
  FeederError,
  type IdentifiedBranch,
  IEEE69_MERGE_DROP_PU,
  MetricsError,
  nominalBranchDrops,
  solvePowerFlow,
} from "../src/index.js";

const f69 = case69();

const totals = (f: Feeder) =>
  f.buses.reduce((s, b) => ({ p: s.p + b.pKw, q: s.q + b.qKvar, cap: s.cap + b.shuntCapKvar }), {
    p: 0,
    q: 0,
    cap: 0,
  });
const busOf = (f: Feeder, name: string) => f.buses.find((b) => b.name === name)!;
const edgesOf = (f: Feeder): IdentifiedBranch[] =>
  f.branches.map((b) => ({ from: f.buses[b.from]!.name, to: f.buses[b.to]!.name, rPu: b.rPu, xPu: b.xPu }));

describe("contractBranches", () => {
  it("merges a named bus into its parent: loads summed, children re-hung with their own impedance", () => {
    const { feeder, contracted, busMap } = contractBranches(f69, { buses: ["46"] });
    expect(feeder.buses).toHaveLength(f69.buses.length - 1);
    expect(feeder.buses.some((b) => b.name === "46")).toBe(false);
    expect(busOf(feeder, "45").pKw).toBeCloseTo(busOf(f69, "45").pKw + busOf(f69, "46").pKw, 12);
    expect(busOf(feeder, "45").qKvar).toBeCloseTo(busOf(f69, "45").qKvar + busOf(f69, "46").qKvar, 12);
    expect(contracted).toEqual([expect.objectContaining({ bus: "46", into: "45" })]);
    expect(busMap.get("46")).toBe("45");
    expect(busMap.get("45")).toBe("45");
    // Every surviving branch keeps its impedance.
    const orig = new Map(f69.branches.map((b) => [f69.buses[b.to]!.name, b]));
    for (const br of feeder.branches) {
      const o = orig.get(feeder.buses[br.to]!.name)!;
      expect([br.rPu, br.xPu, br.name]).toEqual([o.rPu, o.xPu, o.name]);
    }
  });

  it("merges chains into the nearest surviving ancestor (the 69-bus head 1-2-3)", () => {
    const { feeder, busMap } = contractBranches(f69, { buses: ["2", "3"] });
    expect(busMap.get("3")).toBe("1");
    const kids = feeder.children[0]!.map((j) => feeder.buses[j]!.name).sort();
    expect(kids).toEqual(["28", "36", "4"]);
  });

  it("selects by |z| and by nominal drop", () => {
    // Branches 1-2 and 2-3 are 0.0005 + j0.0012 Ω (1.3 mΩ ≈ 8.1e-5 pu), the only ones that small
    // (next: 45-46, 0.0009 + j0.0012 Ω ≈ 9.4e-5 pu).
    const byZ = contractBranches(f69, { maxZPu: 9e-5 });
    expect(byZ.contracted.map((c) => c.bus).sort()).toEqual(["2", "3"]);
    const drops = nominalBranchDrops(f69);
    const byDrop = contractBranches(f69, { maxDropPu: 5e-6 });
    const expected = f69.buses.filter((b) => b.id > 0 && drops[b.id]! < 5e-6).map((b) => b.name);
    expect(byDrop.contracted.map((c) => c.bus).sort()).toEqual([...expected].sort());
    // The four sub-noise stubs named in the bench notes: 45-46, 66-67, 68-69, 39-40.
    expect(expected.sort()).toEqual(["40", "46", "67", "69"]);
    expect(contractBranches(f69, {}).feeder.buses).toHaveLength(f69.buses.length);
  });

  it("names the bus or threshold in its errors", () => {
    expect(() => contractBranches(f69, { buses: ["999"] })).toThrow(FeederError);
    expect(() => contractBranches(f69, { buses: ["999"] })).toThrow(/unknown bus "999"/);
    expect(() => contractBranches(f69, { buses: ["1"] })).toThrow(/root bus "1"/);
    expect(() => contractBranches(f69, { maxDropPu: -1 })).toThrow(/maxDropPu/);
    expect(() => contractBranches(f69, { maxZPu: Number.NaN })).toThrow(/maxZPu/);
    expect(() => contractBranches(f69, { maxZPu: 1e9 })).toThrow(/fewer than 2 buses/);
  });

  it("conserves loads and capacitors and keeps a valid radial feeder for any contracted set", () => {
    const names = f69.buses.slice(1).map((b) => b.name);
    const t0 = totals(f69);
    fc.assert(
      fc.property(fc.subarray(names, { maxLength: 67 }), (sel) => {
        const { feeder, contracted } = contractBranches(f69, { buses: sel });
        expect(contracted).toHaveLength(sel.length);
        expect(feeder.buses).toHaveLength(f69.buses.length - sel.length);
        expect(feeder.branches).toHaveLength(feeder.buses.length - 1);
        const t = totals(feeder);
        expect(t.p).toBeCloseTo(t0.p, 9);
        expect(t.q).toBeCloseTo(t0.q, 9);
        expect(t.cap).toBeCloseTo(t0.cap, 9);
        for (let j = 1; j < feeder.buses.length; j++) expect(feeder.parent[j]!).toBeLessThan(j);
      }),
      { numRuns: 40 },
    );
  });
});

describe("ieee69-merged", () => {
  const red = builtinFeeder("ieee69-merged");

  it("is a built-in with its reduction note", () => {
    expect(builtinFeederNames()).toContain("ieee69-merged");
    expect(builtinFeeder("69-merged").id).toBe("ieee69-merged");
    expect(red.notes.join(" ")).toMatch(/Contracted 23 branches of ieee69/);
    expect(red.notes.join(" ")).toMatch(/1\.5e-4|0\.00015/);
    expect(red.buses).toHaveLength(f69.buses.length - 23);
  });

  it("keeps only branches at or above the detectability threshold", () => {
    const drops = nominalBranchDrops(red);
    for (let j = 1; j < red.buses.length; j++) expect(drops[j]!).toBeGreaterThanOrEqual(IEEE69_MERGE_DROP_PU);
  });

  it("has a power flow close to the original (losses, voltages of the surviving buses)", () => {
    const a = solvePowerFlow(f69);
    const b = solvePowerFlow(red);
    expect(Math.abs(b.lossP - a.lossP) / a.lossP).toBeLessThan(0.005);
    // Loads merged into the substation bus are served there, not through a branch: add them back.
    const rootLoad = (f: Feeder) => f.buses[0]!.pKw / (1000 * f.baseMva);
    expect(rootLoad(red)).toBeGreaterThan(0);
    const served = (r: typeof a, f: Feeder) => r.rootP + rootLoad(f);
    expect(Math.abs(served(b, red) - served(a, f69)) / served(a, f69)).toBeLessThan(0.001);
    const idx = new Map(f69.buses.map((x) => [x.name, x.id]));
    let worst = 0;
    for (const bus of red.buses) worst = Math.max(worst, Math.abs(b.vm[bus.id]! - a.vm[idx.get(bus.name)!]!));
    // Sum of the contracted drops on any path is < 1e-3 in |V|² (a few 1e-4 in |V|).
    expect(worst).toBeLessThan(5e-4);
  });
});

describe("evaluateContractedTopology", () => {
  it("scores the true tree as exact and states its criterion", () => {
    const m = evaluateContractedTopology(f69, edgesOf(f69));
    expect(m).toMatchObject({ edgeAccuracy: 1, exactTree: true, edges: 45, contractedBranches: 23 });
    expect(m.criterion).toMatch(/nominal drop/);
  });

  it("forgives a misplaced bus inside a contracted group, not outside it", () => {
    // 46 hangs from 45 through a 1.5 mΩ stub; attaching it to 44 instead is invisible after contraction.
    const inside = edgesOf(f69).map((e) => (e.to === "46" ? { ...e, from: "44" } : e));
    expect(evaluateIdentification(f69, inside).exactTree).toBe(false);
    expect(evaluateContractedTopology(f69, inside).exactTree).toBe(true);
    // 65 moved from 64 to 63: a real, visible error.
    const outside = edgesOf(f69).map((e) => (e.to === "65" ? { ...e, from: "63" } : e));
    const m = evaluateContractedTopology(f69, outside);
    expect(m.exactTree).toBe(false);
    expect(m.correctEdges).toBe(44);
    expect(m.edgeAccuracy).toBeCloseTo(44 / 45, 12);
  });

  it("rejects buses not in the feeder by name", () => {
    const bad = [...edgesOf(f69), { from: "1", to: "X9", rPu: 0, xPu: 0 }];
    expect(() => evaluateContractedTopology(f69, bad)).toThrow(MetricsError);
    expect(() => evaluateContractedTopology(f69, bad)).toThrow(/X9/);
  });
});
