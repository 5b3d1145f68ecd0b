import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
      expect(c.topology.treeMetric).toBeGreaterThanOrEqual(0);
      expect(c.topology.treeMetric).toBeLessThanOrEqual(1);
    }
    // Both LP backends solved the same LAD problems to the same optimum.
    const solvers = new Set(doc.lp.map((l: { solver: string }) => l.solver));
    expect(solvers).toEqual(new Set(["highs", "glpk"]));
    for (const l of doc.lp) expect(l.maxRelLossDiff).toBeLessThan(1e-6);
    const md = await readFile(join(out, "grid-quick.md"), "utf8");
    expect(md).toMatch(/LP solvers on the LAD branch problems/);
  });
});
