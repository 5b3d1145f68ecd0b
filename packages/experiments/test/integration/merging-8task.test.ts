import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runMerging8Task, writeMerging8TaskResults } from "../../src/merging-8task/index.js";
import { LAMBDA_ALL, LAMBDA_PCB, LAMBDA_TA, lambdaRange } from "../../src/merging-8task/plan.js";
import type { BenchReport } from "../../src/merging-8task/report.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("merging 8-task experiment", () => {
  it("expands λ-codes like the reference (arange, rounded to one decimal)", () => {
    expect(LAMBDA_TA).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2]);
    expect(LAMBDA_PCB[0]).toBe(0.8);
    expect(LAMBDA_PCB.at(-1)).toBe(2.2);
    expect(LAMBDA_PCB).toHaveLength(15);
    expect(lambdaRange(0.8, 2.21, 0.1)).toEqual(LAMBDA_PCB);
    expect(LAMBDA_ALL).toHaveLength(22);
    for (const l of [...LAMBDA_TA, ...LAMBDA_PCB]) expect(LAMBDA_ALL).toContain(l);
  });

  it("rejects an unknown method before doing any work", async () => {
    await expect(runMerging8Task({ methods: ["pcb", "nope"] })).rejects.toThrow(/unknown method 'nope'/);
  });

  // The reduced configuration end to end: trains a 3-task zoo, runs every method with validation tuning,
  // PCB + CMA-ES and the 2..3-task curve, and writes the JSON and markdown report.
  it("runs the reduced configuration end to end (--quick)", async () => {
    const out = await mkdtemp(join(tmpdir(), "x-bench-merging-"));
    const cache = await mkdtemp(join(tmpdir(), "x-zoo-cache-"));
    dirs.push(out, cache);
    const run = await runMerging8Task({ quick: true, workers: 0, cacheRoot: cache });
    writeMerging8TaskResults(run, out, "merging-quick");
    const report = JSON.parse(await readFile(join(out, "merging-quick.json"), "utf8")) as BenchReport;
    const md = await readFile(join(out, "merging-quick.md"), "utf8");
    expect(report.tasks).toEqual(["mnist-digits", "fashion-classes", "mnist-rotated"]);
    const rows = report.summary.rows;
    for (const id of [
      "expert",
      "joint",
      "pretrained",
      "averaging",
      "task_arithmetic",
      "ties",
      "dare_ta",
      "dare_ties",
      "fisher",
      "regmean",
      "pcb",
      "pcb_es",
    ]) {
      expect(rows[id], id).toBeDefined();
      expect(rows[id]!.perTask).toHaveLength(3);
      expect(rows[id]!.avg.mean).toBeGreaterThan(0);
      expect(rows[id]!.avg.mean).toBeLessThanOrEqual(1);
      expect(md).toContain(rows[id]!.label);
    }
    const seed = report.perSeed[0]!;
    // Normalized accuracy is merged / expert per task; the expert row is exactly 1.
    expect(seed.rows.expert!.normalized).toEqual([1, 1, 1]);
    const ta = seed.rows.task_arithmetic!;
    for (let k = 0; k < 3; k++)
      expect(ta.normalized[k]).toBeCloseTo(ta.test[k]! / seed.rows.expert!.test[k]!, 12);
    // Chosen hyperparameters come from the grids (the union of the reference's λ grids).
    expect(LAMBDA_ALL).toContain(ta.params!.lambda);
    expect([0.05, 0.1, 0.2]).toContain(seed.rows.pcb!.params!.ratio);
    expect(seed.rows.task_arithmetic!.candidates).toBe(22);
    expect(seed.rows.pcb!.candidates).toBe(66);
    // PCB+ES starts from the best grid point, so on validation it is never worse than PCB's grid choice.
    expect(seed.rows.pcb_es!.val!.reduce((a, b) => a + b) / 3).toBeGreaterThanOrEqual(
      seed.rows.pcb!.val!.reduce((a, b) => a + b) / 3,
    );
    expect(Object.keys(seed.curve)).toEqual(["2", "3"]);
    expect(seed.curve["2"]!.pcb!.tasks).toHaveLength(2);
    // Merging the experts is better than chance on every task and the merged models are not the experts.
    for (const id of ["averaging", "task_arithmetic", "ties", "pcb"]) {
      expect(rows[id]!.avg.mean).toBeGreaterThan(0.2);
    }
    expect(md).toMatch(/Ordering \(paper: averaging < TA < TIES < PCB\)/);
    // A wider λ grid replaces every λ-method's grid (the zoo now comes from the cache).
    const wide = await runMerging8Task({
      quick: true,
      workers: 0,
      cacheRoot: cache,
      methods: ["task_arithmetic"],
      es: false,
      curve: false,
      lambdas: [0.02, 0.05],
    });
    expect(wide.perSeed[0]!.rows.task_arithmetic!.candidates).toBe(2);
    expect(wide.setting.join(" ")).toMatch(/λ grid 0\.02–0\.05/);
  }, 600_000);
});
