// runDemoTour's grid section on its own (seconds): the identified IEEE 13-bus tree against the true one, branch
// errors recomputed from the listed impedances, the sections left out say why, and the summary rows.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ieee13 } from "@x/grid-model";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_TOUR_SECTIONS, demoTourSummary, runDemoTour } from "../../src/index.js";

const work = mkdtempSync(join(tmpdir(), "x-demo-tour-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("runDemoTour (grid section, quick)", () => {
  it("identifies the 13-bus feeder and reports trees, per-branch errors and sweeps consistent with each other", async () => {
    const logs: string[] = [];
    const t = await runDemoTour(
      { quick: true, seeds: [1, 2], sections: ["grid"], workDir: work, command: "test" },
      { log: (m) => logs.push(m) },
    );
    expect(t.format).toBe("x-demo-tour");
    expect(t.command).toBe("test");
    for (const s of DEMO_TOUR_SECTIONS.filter((s) => s !== "grid")) {
      const sec = t[s];
      expect(sec.status).toBe("not-run");
      if (sec.status === "not-run") expect(sec.reason).toMatch(/left out of this run \(sections: grid\)/);
    }
    if (t.grid.status !== "ok") throw new Error(t.grid.reason);
    const g = t.grid;
    const f = ieee13();
    // The true tree is the feeder's, branch by branch, with its impedances.
    expect(g.feeder.buses).toEqual(f.buses.map((b) => b.name));
    expect(g.trueTree).toEqual(
      f.branches.map((b) =>
        expect.objectContaining({
          from: f.buses[b.from]!.name,
          to: f.buses[b.to]!.name,
          rPu: b.rPu,
          xPu: b.xPu,
        }),
      ),
    );
    // The identified tree gives every bus but the root one parent.
    expect(g.identifiedTree.map((e) => e.to).sort()).toEqual(g.feeder.buses.slice(1).sort());
    const trueKey = new Set(g.trueTree.map((e) => `${e.from}-${e.to}`));
    for (const e of g.identifiedTree)
      if (trueKey.has(`${e.from}-${e.to}`) || trueKey.has(`${e.to}-${e.from}`)) expect(e.wrong).toBe(false);
    // Errors recomputed from the listed impedances; only exact true branches with r, x > 0 are listed.
    expect(g.branchErrors.length).toBeGreaterThan(6);
    for (const b of g.branchErrors) {
      expect(trueKey.has(`${b.from}-${b.to}`)).toBe(true);
      expect(b.rErrorPct).toBeCloseTo((100 * Math.abs(b.rEstPu - b.rTruePu)) / b.rTruePu, 9);
      expect(b.xErrorPct).toBeCloseTo((100 * Math.abs(b.xEstPu - b.xTruePu)) / b.xTruePu, 9);
      const listed = g.identifiedTree.find((e) => e.to === b.to)!;
      expect([listed.rPu, listed.xPu]).toEqual([b.rEstPu, b.xEstPu]);
    }
    expect(g.noiseSweep.map((p) => [p.vClassPct, p.seed])).toEqual([
      [0, 1],
      [0, 2],
      [0.1, 1],
      [0.1, 2],
    ]);
    expect(g.samplesSweep.map((p) => p.samples)).toEqual([300, 300, 672, 672]);
    expect(logs).toContain("grid: start");

    const rows = demoTourSummary(t);
    expect(rows.filter((r) => r.section === "grid").map((r) => r.value)).toEqual([
      g.metrics.edgeAccuracy,
      g.metrics.medianApeRPct,
      g.metrics.medianApeXPct,
    ]);
    expect(rows.filter((r) => r.value === null).map((r) => r.section)).toEqual([
      "merging",
      "evolution",
      "snn",
    ]);
  }, 120_000);

  it("an aborted signal stops the tour before its first section", async () => {
    const ac = new AbortController();
    ac.abort("SIGINT");
    await expect(
      runDemoTour({ quick: true, sections: ["grid"], workDir: work, signal: ac.signal }),
    ).rejects.toThrow(/SIGINT/);
  });
});
