import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Cell, renderExact } from "../src/commands/bench-grid.js";
import { runCli, tempDirPerFile } from "./run-cli.js";

const tmp = tempDirPerFile("x-cli-grid-id-");

const run = runCli;

describe("x grid identify / evaluate", () => {
  it("identifies the 13-bus feeder from simulated 0.1 %-class meter data and evaluates it", async () => {
    const csv = join(tmp.path, "sm13.csv");
    const sim = await run([
      "grid",
      "simulate",
      "--feeder",
      "ieee13",
      "--samples",
      "2000",
      "--noise",
      "0.1%",
      "--meters",
      "all",
      "--seed",
      "3",
      "--out",
      csv,
    ]);
    expect(sim.code).toBe(0);
    const model = join(tmp.path, "model.json");
    const id = await run(["grid", "identify", csv, "--out", model, "--json"]);
    expect(id.err).toBe("");
    expect(id.code).toBe(0);
    const summary = JSON.parse(id.out);
    expect(summary).toMatchObject({ feeder: "ieee13", branches: 13, method: "lad", solver: "highs" });
    const doc = JSON.parse(await readFile(model, "utf8"));
    expect(doc.format).toBe("x-grid-model/1");
    expect(doc.branches).toHaveLength(13);

    const ev = await run(["grid", "evaluate", model, "--truth", "ieee13", "--json"]);
    expect(ev.code).toBe(0);
    const m = JSON.parse(ev.out);
    // 680 is an unloaded leaf (identical voltage to 671), so one edge may be ambiguous.
    expect(m.edgeAccuracy).toBeGreaterThanOrEqual(11 / 12);
    expect(m.medianApeZ).toBeLessThan(10);

    const text = await run(["grid", "evaluate", model, "--truth", "ieee13"]);
    expect(text.out).toMatch(/edge accuracy/);
    expect(text.out).toMatch(/median \|z\| error/);
  });

  it("LS and the conductor library run from the CLI; library mode reports conductor accuracy", async () => {
    const csv = join(tmp.path, "sm37.csv");
    expect(
      (
        await run([
          "grid",
          "simulate",
          "--feeder",
          "ieee37",
          "--samples",
          "1200",
          "--meters",
          "all",
          "--out",
          csv,
        ])
      ).code,
    ).toBe(0);
    const ls = join(tmp.path, "ls.json");
    expect((await run(["grid", "identify", csv, "--out", ls, "--method", "ls"])).code).toBe(0);
    const lib = join(tmp.path, "lib.json");
    expect((await run(["grid", "identify", csv, "--out", lib, "--library"])).code).toBe(0);
    const ev = await run(["grid", "evaluate", lib, "--truth", "ieee37", "--json"]);
    const m = JSON.parse(ev.out);
    expect(m.conductorAccuracy).not.toBeNull();
    expect(m.conductorAccuracy).toBeGreaterThan(0.5);
  });

  it("rejects bad usage and bad input with clear errors", async () => {
    expect((await run(["grid", "identify", "nope.csv"])).code).toBe(2);
    expect((await run(["grid", "identify", "x.csv", "--out", "m.json", "--method", "l1"])).code).toBe(2);
    const missing = await run([
      "grid",
      "identify",
      join(tmp.path, "absent.csv"),
      "--out",
      join(tmp.path, "m.json"),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/absent\.csv/);
    const badModel = join(tmp.path, "sm13.csv");
    const ev = await run(["grid", "evaluate", badModel, "--truth", "ieee13"]);
    expect(ev.code).toBe(1);
    expect(ev.err).toMatch(/not a readable model JSON|not an x-grid-model/);
  });
});

describe("x bench grid --quick", () => {
  it("runs the reduced experiment and writes the JSON and markdown report", async () => {
    const out = join(tmp.path, "bench");
    const r = await run(["bench", "grid", "--quick", "--out", out]);
    expect(r.code).toBe(0);
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
  });
});

describe("x grid evaluate: exact up to contraction", () => {
  it("prints it next to the plain exact tree; a bus misplaced across a sub-noise stub is forgiven only there", async () => {
    const { case69 } = await import("@x/grid-model");
    const f = case69();
    // The true 69-bus tree with bus 46 hung from 44 instead of 45 (45-46 is a 1.5 mΩ stub).
    const branches = f.branches.map((b) => ({
      from: f.buses[b.to]!.name === "46" ? "44" : f.buses[b.from]!.name,
      to: f.buses[b.to]!.name,
      rPu: b.rPu,
      xPu: b.xPu,
    }));
    const model = join(tmp.path, "model69.json");
    await writeFile(model, JSON.stringify({ format: "x-grid-model/1", feeder: "ieee69", branches }));
    const ev = await run(["grid", "evaluate", model, "--truth", "ieee69", "--json"]);
    expect(ev.code).toBe(0);
    const m = JSON.parse(ev.out);
    expect(m.exactTree).toBe(false);
    expect(m.edgeAccuracy).toBeCloseTo(67 / 68, 12);
    expect(m.contracted).toMatchObject({
      exactTree: true,
      edgeAccuracy: 1,
      contractedBranches: 23,
      edges: 45,
    });
    const text = await run(["grid", "evaluate", model, "--truth", "ieee69"]);
    expect(text.out).toMatch(/exact tree +no/);
    expect(text.out).toMatch(
      /up to contraction +edges 100\.0 % \(45\/45\), exact yes \[23 true branches contracted: nominal drop/,
    );
    const off = await run(["grid", "evaluate", model, "--truth", "ieee69", "--contract-drop", "0"]);
    expect(off.out).toMatch(/up to contraction +n\/a/);
    const bad = await run(["grid", "evaluate", model, "--truth", "ieee69", "--contract-drop", "-1"]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--contract-drop/);
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
