// Zero-injection buses (P = Q = 0 in every reading): a leaf carries no current, so its voltage equals its parent's
// and only the voltage match can place it; a junction passes on its children's flows.
import { describe, expect, it } from "vitest";
import { buildFeeder, evaluateIdentification, identifyGrid, searchTree } from "../src/index.js";
import { zeroInjectionMeterData } from "./identify-fixtures.js";

// s ─ a ─ b ─ c ─ z      b: zero-injection junction (children c, d); z: zero-injection leaf under c
//     │   └ d
//     └ e
const feeder = buildFeeder({
  id: "zi7",
  baseKvLl: 4.16,
  baseMva: 1,
  root: "s",
  buses: [
    { name: "s" },
    { name: "a", pKw: 300, qKvar: 120 },
    { name: "b" },
    { name: "c", pKw: 250, qKvar: 100 },
    { name: "d", pKw: 200, qKvar: 90 },
    { name: "e", pKw: 150, qKvar: 70 },
    { name: "z" },
  ],
  branches: [
    { from: "s", to: "a", rOhm: 0.2, xOhm: 0.4 },
    { from: "a", to: "b", rOhm: 0.15, xOhm: 0.3 },
    { from: "b", to: "c", rOhm: 0.25, xOhm: 0.2 },
    { from: "b", to: "d", rOhm: 0.3, xOhm: 0.25 },
    { from: "a", to: "e", rOhm: 0.2, xOhm: 0.15 },
    { from: "c", to: "z", rOhm: 0.1, xOhm: 0.1 },
  ],
});

const data = (seed: number) => zeroInjectionMeterData(feeder, seed);

describe("zero-injection buses", () => {
  it("a zero-injection leaf hangs off the bus whose voltage it matches, exactly, on every seed", () => {
    for (const seed of [1, 2, 3]) {
      const d = data(seed);
      const model = identifyGrid(d);
      const m = evaluateIdentification(feeder, model.branches);
      expect(m.exactTree).toBe(true);
      const leaf = model.zeroInjection.find((z) => z.bus === "z")!;
      expect(leaf).toMatchObject({ role: "leaf", parent: "c", consistent: true });
      // At noise level: 0.1 %-class meters, σ = 3.3e-4 per reading, so the rms difference is ≈ √2 σ.
      expect(leaf.rmsDifferencePu).toBeLessThan(1e-3);
      const junction = model.zeroInjection.find((z) => z.bus === "b")!;
      expect(junction).toMatchObject({ role: "junction", parent: "a", consistent: true });
    }
  });

  it("the branch of a zero-current leaf is reported as not identifiable, not given an impedance", () => {
    const model = identifyGrid(data(1), { zBaseOhm: feeder.zBaseOhm });
    const br = model.branches.find((b) => b.to === "z")!;
    expect(br.identifiable).toBe(false);
    expect(br.note).toMatch(/not identifiable/);
    expect(Number.isNaN(br.rPu) && Number.isNaN(br.xPu)).toBe(true);
    expect(br.rOhm).toBeUndefined();
    for (const b of model.branches.filter((b) => b.to !== "z")) {
      expect(b.identifiable).toBeUndefined();
      expect(b.rPu).toBeGreaterThan(0);
    }
    const json = JSON.parse(JSON.stringify(model));
    expect(json.branches.find((b: { to: string }) => b.to === "z").rPu).toBeNull();
  });

  it("the tree search moves a misplaced zero-injection leaf to its parent", () => {
    const d = data(2);
    const idx = (n: string) => d.busNames.indexOf(n);
    const truth = Int32Array.from(d.busNames, (n) => {
      const b = feeder.branches.find((br) => feeder.buses[br.to]!.name === n);
      return b ? idx(feeder.buses[b.from]!.name) : -1;
    });
    const start = Int32Array.from(truth);
    start[idx("z")] = idx("e"); // far away in voltage
    const res = searchTree(d, start, { maxSweeps: 0 });
    expect(res.parent[idx("z")]).toBe(idx("c"));
  });
});
