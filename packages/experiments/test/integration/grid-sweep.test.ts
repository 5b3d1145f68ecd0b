import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderExact, runGridSweep, writeGridSweepResults } from "../../src/grid-sweep/index.js";
import type { Cell } from "../../src/grid-sweep/types.js";

describe("grid sweep, quick plan", () => {
  it("runs the reduced experiment and writes the JSON and markdown report", async () => {
    const out = await mkdtemp(join(tmpdir(), "x-grid-sweep-"));
    let checkpoints = 0;
    const sweep = await runGridSweep({ quick: true }, { checkpoint: () => checkpoints++ });
    writeGridSweepResults(sweep, out);
    expect(checkpoints).toBe(sweep.cells.length + sweep.lp.length);
    const doc = JSON.parse(await readFile(join(out, "grid-quick.json"), "utf8"));
    expect(doc.cells.length).toBeGreaterThanOrEqual(3);
    for (const c of doc.cells) {
      for (const k of ["treeMetric", "likelihood"]) {
        expect(c.topology[k]).toBeGreaterThanOrEqual(0);
        expect(c.topology[k]).toBeLessThanOrEqual(1);
      }
    }
    // Samples-to-exact cells: two seeds per sample size, wrong-bus lists consistent with the exact flag.
    const exact = doc.cells.filter((c: { group: string }) => c.group === "exact");
    expect(exact.map((c: { samples: number }) => c.samples).sort()).toEqual([300, 300, 700, 700]);
    for (const c of exact) {
      expect(c.exactTree).toBe(c.topology.wrongEdges === 0);
      expect(c.wrongBuses.length).toBe(c.topology.wrongEdges);
    }
    // Both LP backends solved the same LAD problems to the same optimum.
    const solvers = new Set(doc.lp.map((l: { solver: string }) => l.solver));
    expect(solvers).toEqual(new Set(["highs", "glpk"]));
    for (const l of doc.lp) expect(l.maxRelLossDiff).toBeLessThan(1e-6);
    const md = await readFile(join(out, "grid-quick.md"), "utf8");
    expect(md).toMatch(/LP solvers on the LAD branch problems/);
    expect(md).toMatch(/Samples to exact topology/);
    // Topology noise sweep: one cell per exact seed, rendered as its own section.
    const topo = doc.cells.filter((c: { group: string }) => c.group === "topology");
    expect(topo).toHaveLength(2);
    expect(md).toMatch(/Topology vs meter noise/);
    expect(md).toContain(
      "balanced positive-sequence feeders with constant-power (PQ) loads, every bus metered",
    );
    // A partial rerun keeps the other records and replaces only its own.
    const lpOnly = await runGridSweep({ quick: true, only: "lp", previous: sweep });
    expect(lpOnly.cells).toEqual(sweep.cells);
    expect(lpOnly.lp.length).toBe(sweep.lp.length);
    await rm(out, { recursive: true, force: true });
  });
});

describe("samples-to-exact table", () => {
  const cell = (feeder: string, samples: number, seed: number, exact: boolean): Cell => ({
    group: "exact",
    feeder,
    vClass: 0.1,
    pqClass: 0.5,
    samples,
    resolutionMin: 15,
    seed,
    topology: { likelihood: exact ? 1 : 0.9, treeMetric: 0.8 },
    exactTree: exact,
    wrongBuses: exact ? [] : ["b7"],
    seconds: { topology: 1 },
  });
  it("reports the smallest T at which every seed is exact, or the accuracy at the largest T", () => {
    const lines = renderExact([
      cell("a", 1000, 1, true),
      cell("a", 1000, 2, false),
      cell("a", 2000, 1, true),
      cell("a", 2000, 2, true),
      cell("a", 4000, 1, true),
      cell("a", 4000, 2, true),
      cell("b", 1000, 1, false),
      cell("b", 5000, 1, false),
      // exact at the smallest T by chance, then not: does not count
      cell("c", 1000, 1, true),
      cell("c", 2000, 1, false),
      cell("c", 4000, 1, true),
    ]).join("\n");
    expect(lines).toMatch(/\| c \| 0\.1 \| 0\.5 \| 4000 \| – \|$/);
    expect(lines).toMatch(/\| a \| 0\.1 \| 0\.5 \| 2000 \| – \|\n/);
    expect(lines).toMatch(/\| b \| 0\.1 \| 0\.5 \| > 5000 \(edges 0\.900\) \| – \|/);
    expect(lines).toMatch(
      /\| a \| 0\.1 \| 0\.5 \| 1000 \| 0\.950 \| 0\.800 \| 1\/2 \| – \| – \| b7 \(1\) \|/,
    );
    expect(lines).not.toMatch(/Up to contraction/);
  });

  it("reports exact-up-to-contraction next to the plain exact tree, with its criterion", () => {
    const withC = (samples: number, seed: number, exact: boolean, cExact: boolean): Cell => ({
      ...cell("d", samples, seed, exact),
      contracted: {
        edgeAccuracy: cExact ? 1 : 0.96,
        exactTree: cExact,
        contractedBranches: 23,
        criterion: "nominal drop in |V|² < 0.00015 pu",
      },
    });
    const lines = renderExact([
      withC(1000, 1, false, false),
      withC(1000, 2, false, true),
      withC(2000, 1, false, true),
      withC(2000, 2, false, true),
      { ...withC(1000, 1, false, false), feeder: "e" },
      { ...withC(1000, 1, false, false), feeder: "e", pqClass: 0.1 },
    ]).join("\n");
    expect(lines).toMatch(
      /\| d \| 0\.1 \| 0\.5 \| 1000 \| 0\.900 \| 0\.800 \| 0\/2 \| 0\.980 \| 1\/2 \| b7 \(2\) \|/,
    );
    expect(lines).toMatch(/\| d \| 0\.1 \| 0\.5 \| > 2000 \(edges 0\.900\) \| 2000 \|/);
    // One criterion sentence per distinct criterion and feeder, not one per group.
    expect(lines).toMatch(
      /by nominal drop in \|V\|² < 0\.00015 pu \(23 branches of d\); nominal drop in \|V\|² < 0\.00015 pu \(23 branches of e\) \(/,
    );
  });
});
