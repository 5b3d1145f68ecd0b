import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { runCadeExperiment } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "cade-exp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("experiment C runs end to end at a toy scale, writes cade.json / cade.md, and resumes from its seed files", async () => {
  const scale = {
    seeds: [1, 2],
    variantSeeds: [],
    generations: 2,
    populationSize: 4,
    trainPerClass: 40,
    valPerClass: 20,
    fitnessSetSize: 60,
    sourcePerClass: 60,
    pretrainEpochs: 1,
    memberEpochs: 1,
    hidden: 16,
    f0Sweep: [],
  };
  const out = join(dir, "out");
  const r = await runCadeExperiment({ scale, workDir: join(dir, "work"), outDir: out });
  const main = r.tasks[0];
  expect(main.task).toBe("fashion-split");
  expect(main.seeds).toEqual([1, 2]);
  const methods = main.rows.map((row) => row.method);
  for (const m of [
    "best initial individual (by val)",
    "CADE (S3)",
    "constant F0/CR0",
    "jitter only",
    "linear decay",
    "classic DE 0.5/0.9",
    "continued fine-tuning",
    "uniform weight average",
    "greedy soup",
    "logit ensemble",
  ]) {
    expect(methods).toContain(m);
  }
  // equal budgets: every arm spends N + N·G evaluations; the curve has the initial point plus one per generation
  for (const a of r.perSeed[0].arms) {
    expect(a.evaluations).toBe(4 + 4 * 2);
    expect(a.curve.length).toBe(3);
  }
  expect(main.scratch).not.toBeNull();
  expect(existsSync(join(out, "cade.json"))).toBe(true);
  expect(readFileSync(join(out, "cade.md"), "utf8")).toMatch(/Headline/);
  // a second call finds every seed's result file and only aggregates
  const again = await runCadeExperiment({ scale, workDir: join(dir, "work"), outDir: null });
  expect(again.perSeed).toEqual(r.perSeed);
}, 600_000);
