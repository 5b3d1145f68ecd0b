// `x demo` from the built binary: the quick tour's static copy (its tour.json checked with the page's contract and
// for plausible numbers), serving on a free port until SIGINT / Ctrl-C, piped and on a terminal, and bad input.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseTourResult, type TourResult } from "@x/demo";
import { describe, expect, it } from "vitest";
import { built, tempDir, XProcess, x } from "./helpers.js";

const tmp = tempDir("x-cli-demo-");
// One work folder for every run: the zoo and the SNN models are trained once, later runs reuse them.
const work = join(tmp, "work");
const URL_LINE = /the demo page: (http:\/\/127\.0\.0\.1:\d+\/)/;
const TOUR_RUN_MS = 240_000;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** What a quick tour must hold beyond the schema: every section ran, with numbers that make sense. */
function expectPlausible(t: TourResult): void {
  expect(t.command).toMatch(/^x demo .*--quick/);
  expect(t.machine.cores).toBeGreaterThan(0);
  if (t.merging.status !== "ok") throw new Error(`merging not run: ${t.merging.reason}`);
  expect(t.merging.seeds).toEqual([1, 2]);
  expect(t.merging.tasks).toHaveLength(3);
  const byId = new Map(t.merging.methods.map((m) => [m.id, m]));
  for (const id of ["expert", "pretrained", "task_arithmetic", "ties", "pcb"])
    expect(byId.has(id)).toBe(true);
  const avg = (id: string) => mean(byId.get(id)!.perSeed.map((s) => mean(s.testAccuracy)));
  // Merging helps over the pretrained backbone and stays below the experts (10 classes: chance is 0.1).
  for (const id of ["task_arithmetic", "ties", "pcb"]) {
    expect(avg(id)).toBeGreaterThan(avg("pretrained"));
    expect(avg(id)).toBeLessThanOrEqual(avg("expert") + 0.05);
    expect(byId.get(id)!.perSeed.map((s) => s.seed)).toEqual([1, 2]);
    expect(typeof byId.get(id)!.perSeed[0]!.params.lambda).toBe("number");
  }
  const pcbCurve = t.merging.taskCountCurve.find((c) => c.method === "pcb")!;
  expect(pcbCurve.points.map((p) => p.numTasks).sort()).toEqual([2, 2, 3, 3]);

  if (t.grid.status !== "ok") throw new Error(`grid not run: ${t.grid.reason}`);
  expect(t.grid.feeder.id).toBe("ieee13");
  expect(t.grid.trueTree).toHaveLength(t.grid.feeder.buses.length - 1);
  expect(t.grid.identifiedTree).toHaveLength(t.grid.feeder.buses.length - 1);
  expect(t.grid.metrics.edgeAccuracy).toBeGreaterThanOrEqual(0.75);
  expect(t.grid.identifiedTree.filter((e) => e.wrong).length).toBeLessThanOrEqual(3);
  expect(t.grid.branchErrors.length).toBeGreaterThanOrEqual(8);
  expect(t.grid.metrics.medianApeRPct).toBeLessThan(20);
  // Noise-free meters identify the tree exactly.
  const clean = t.grid.noiseSweep.filter((p) => p.vClassPct === 0);
  expect(clean.length).toBeGreaterThan(0);
  for (const p of clean) expect(p.exactTree).toBe(true);

  if (t.evolution.status !== "ok") throw new Error(`evolution not run: ${t.evolution.reason}`);
  expect(t.evolution.runs.map((r) => r.algorithm).sort()).toEqual([
    "evolver",
    "evolver",
    "random-search",
    "random-search",
  ]);
  for (const r of t.evolution.runs) {
    for (let k = 1; k < r.curve.best.length; k++)
      expect(r.curve.best[k]).toBeGreaterThanOrEqual(r.curve.best[k - 1]!);
    for (const [k, m] of (r.curve.mean ?? []).entries())
      expect(m).toBeLessThanOrEqual(r.curve.best[k]! + 1e-12);
    expect(r.curve.best.every((b) => b > 0.1 && b <= 1)).toBe(true);
  }
  expect(t.evolution.schedule?.recorded?.f.length).toBe(t.evolution.schedule?.generations);

  if (t.snn.status !== "ok") throw new Error(`snn not run: ${t.snn.reason}`);
  expect(t.snn.arms.map((a) => a.id)).toEqual(["cade-s3", "plain-de", "best-initial"]);
  for (const a of t.snn.arms) for (const s of a.perSeed) expect(s.testAccuracy).toBeGreaterThan(1 / 6 - 0.05);
  expect(t.snn.rasters.reduce((n, r) => n + r.spikes.flat().length, 0)).toBeGreaterThan(0);
  expect(t.snn.membrane.length).toBeGreaterThan(0);
  expect(t.snn.sample.predicted).toBeLessThan(6);
}

describe.skipIf(!built)("x demo", () => {
  it(
    "--quick --out DIR (piped, --json): a static copy whose tour.json passes the page's contract",
    () => {
      const out = join(tmp, "site");
      const r = x(["demo", "--quick", "--work", work, "--out", out, "--json"]);
      expect(r.err).toMatch(/merging: start/); // progress on stderr
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.out);
      expect(doc.out).toBe(out);
      expect(doc.summary.map((s: { section: string }) => s.section)).toEqual(
        expect.arrayContaining(["merging", "grid", "evolution", "snn"]),
      );
      expect(existsSync(join(out, "index.html"))).toBe(true);
      const tour = parseTourResult(JSON.parse(readFileSync(join(out, "data", "tour.json"), "utf8")));
      expectPlausible(tour);
      // The same file as the work folder's, and the committed results next to it.
      expect(readFileSync(join(out, "data", "tour.json"), "utf8")).toBe(
        readFileSync(join(work, "data", "tour.json"), "utf8"),
      );
      expect(doc.dataFiles).toContain("merging-8task.json");
      expect(JSON.parse(readFileSync(join(out, "data", "index.json"), "utf8")).files).toContain("tour.json");
      expect(readFileSync(join(out, "data", "tour.json"), "utf8")).not.toMatch(/"status": "not-run"/);
      // The live merge panel's bundle: the merging section's zoo (its tasks, in order) with test images.
      const manifest = JSON.parse(readFileSync(join(out, "data", "live-merge", "manifest.json"), "utf8"));
      const mergingTasks = tour.merging.status === "ok" ? tour.merging.tasks : [];
      expect(mergingTasks.length).toBeGreaterThan(1);
      expect(manifest.tasks.map((t: { name: string }) => t.name)).toEqual(mergingTasks);
      for (const f of ["weights.bin", "test.bin"])
        expect(statSync(join(out, "data", "live-merge", f)).size).toBeGreaterThan(0);
    },
    TOUR_RUN_MS,
  );

  it(
    // Piped serving (and SIGINT there) is the browser test's path: apps/demo/test/integration/browser-tour-run.test.ts.
    "on a terminal: the summary table, the page and its data served on a free port, a typed Ctrl-C stops it (exit 0)",
    async () => {
      const p = new XProcess(["demo", "--quick", "--no-open", "--port", "0", "--work", work], { tty: true });
      try {
        await p.waitFor(URL_LINE, TOUR_RUN_MS);
        const url = URL_LINE.exec(p.output)![1]!;
        const page = await fetch(url);
        expect(page.status).toBe(200);
        expect(await page.text()).toMatch(/<html/i);
        const tour = parseTourResult(await (await fetch(`${url}data/tour.json`)).json());
        expectPlausible(tour);
        const index = (await (await fetch(`${url}data/index.json`)).json()) as {
          files: string[];
          liveBundle: boolean;
        };
        expect(index.files).toEqual(expect.arrayContaining(["tour.json", "merging-8task.json"]));
        expect(index.liveBundle).toBe(true);
        const manifest = await fetch(`${url}data/live-merge/manifest.json`);
        expect(manifest.status).toBe(200);
        expect(((await manifest.json()) as { tasks: unknown[] }).tasks.length).toBe(
          tour.merging.status === "ok" ? tour.merging.tasks.length : -1,
        );
        expect(p.output).toMatch(/merging\s+PCB-Merging \(reference\)\s+\d+\.\d% ± \d+\.\d/);
        expect(p.output).toMatch(/grid\s+ieee13 branches identified/);
        p.type("\x03");
        expect((await p.exited).code).toBe(0);
        expect(p.output).toMatch(/stopping the demo server/);
        await expect(fetch(url)).rejects.toThrow();
      } finally {
        if (p.child.exitCode === null) p.child.kill("SIGKILL");
      }
    },
    TOUR_RUN_MS,
  );

  it("SIGTERM during the tour exits 143 and writes no tour.json", async () => {
    const fresh = join(tmp, "interrupted");
    const p = new XProcess(["demo", "--quick", "--no-open", "--work", fresh]);
    try {
      while (!/merging: start/.test(p.errors)) {
        if (p.child.exitCode !== null) throw new Error(p.errors);
        await new Promise((r) => setTimeout(r, 50));
      }
      p.signal("SIGTERM");
      expect((await p.exited).code).toBe(143);
      expect(p.errors).toMatch(/interrupted \(SIGTERM\)/);
      expect(existsSync(join(fresh, "data", "tour.json"))).toBe(false);
    } finally {
      if (p.child.exitCode === null) p.child.kill("SIGKILL");
    }
  }, 60_000);

  it("bad input is a usage error (exit 2) before any work", () => {
    for (const [args, msg] of [
      [["--port", "abc"], /--port <n>.*expected an integer in \[0, 65535\], got 'abc'/],
      [["--port", "70000"], /expected an integer in \[0, 65535\]/],
      [["--seeds", "1,x"], /--seeds <list>.*got 'x'/],
      [["--bogus"], /unknown option '--bogus'/],
      [["--seeds", "1,1"], /--seeds lists a seed twice \(1,1\)/],
    ] as const) {
      const r = x(["demo", ...args, "--work", join(tmp, "unused")]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.out).toBe("");
    }
    const full = join(tmp, "full");
    mkdirSync(full, { recursive: true });
    writeFileSync(join(full, "keep.txt"), "mine");
    const r = x(["demo", "--quick", "--out", full, "--work", join(tmp, "unused")]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/exists and is not empty \(pass --overwrite to replace it\)/);
    expect(readFileSync(join(full, "keep.txt"), "utf8")).toBe("mine");
    expect(existsSync(join(tmp, "unused", "data", "tour.json"))).toBe(false);
    // An output inside the tour's data folder would copy the page into its own data.
    const inside = x(["demo", "--quick", "--work", work, "--out", join(work, "data", "site")]);
    expect(inside.code).toBe(2);
    expect(inside.err).toMatch(/lies inside the input/);
  });
});
