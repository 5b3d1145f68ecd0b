import { describe, expect, it } from "vitest";
import { buildFeeder, FeederError, type FeederInput } from "../src/index.js";

const base: FeederInput = {
  id: "t",
  baseKvLl: 10,
  baseMva: 1,
  root: "s",
  buses: [{ name: "a", pKw: 10 }, { name: "s" }, { name: "b", pKw: 5, qKvar: 2 }, { name: "c" }],
  branches: [
    { name: "sa", from: "a", to: "s", rOhm: 1, xOhm: 2 },
    { name: "ab", from: "a", to: "b", rPu: 0.01, xPu: 0.02 },
    { name: "sc", from: "s", to: "c", rOhm: 0.5, xOhm: 0 },
  ],
};

function err(mut: Partial<FeederInput>): string {
  try {
    buildFeeder({ ...base, ...mut });
  } catch (e) {
    expect(e).toBeInstanceOf(FeederError);
    return (e as Error).message;
  }
  throw new Error("expected a FeederError");
}

describe("buildFeeder", () => {
  it("renumbers buses in BFS order from the root and orients branches parent → child", () => {
    const f = buildFeeder(base);
    expect(f.buses.map((b) => b.name)).toEqual(["s", "a", "c", "b"]);
    expect(Array.from(f.parent)).toEqual([-1, 0, 0, 1]);
    expect(f.branches.map((b) => [b.from, b.to, b.name])).toEqual([
      [0, 1, "sa"],
      [0, 2, "sc"],
      [1, 3, "ab"],
    ]);
    expect(f.children[0]).toEqual([1, 2]);
    expect(Array.from(f.depth)).toEqual([0, 1, 1, 2]);
    expect(f.zBaseOhm).toBe(100);
    expect(f.branches[0].rPu).toBeCloseTo(0.01, 15);
    expect(f.branches[2].rOhm).toBeCloseTo(1, 12);
    expect(f.buses[3].qKvar).toBe(2);
  });

  it("rejects loops, naming the closing branch", () => {
    expect(
      err({ branches: [...base.branches, { name: "bc", from: "b", to: "c", rOhm: 1, xOhm: 1 }] }),
    ).toMatch(/not radial .*"bc"|not radial .*"sc"/);
  });
  it("rejects disconnected buses, naming them", () => {
    expect(err({ buses: [...base.buses, { name: "island" }] })).toMatch(/not connected.*"island"/);
  });
  it("rejects unknown buses, duplicates and a missing root", () => {
    expect(err({ branches: [{ from: "s", to: "zz", rOhm: 1, xOhm: 1 }] })).toMatch(/unknown bus "zz"/);
    expect(err({ buses: [...base.buses, { name: "a" }] })).toMatch(/duplicate bus "a"/);
    expect(err({ root: "q" })).toMatch(/root bus "q"/);
    expect(
      err({ branches: [...base.branches, { name: "sa", from: "c", to: "s", rOhm: 1, xOhm: 1 }] }),
    ).toMatch(/duplicate branch "sa"/);
  });
  it("rejects non-positive or non-finite impedances, naming the branch", () => {
    const bad = (rOhm: number, xOhm: number) =>
      err({ branches: [base.branches[0], base.branches[1], { name: "sc", from: "s", to: "c", rOhm, xOhm }] });
    expect(bad(-1, 1)).toMatch(/branch "sc".*non-negative/);
    expect(bad(0, 0)).toMatch(/branch "sc".*positive/);
    expect(bad(Number.NaN, 1)).toMatch(/branch "sc".*finite/);
  });
});
