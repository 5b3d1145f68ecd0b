import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pcbMerge } from "../../src/pcb/reference.js";
import {
  commandEvaluator,
  EvaluatorError,
  parseScore,
  type Split,
  searchCoefficients,
  searchPcbLambdas,
} from "../../src/search/index.js";

describe("searchCoefficients", () => {
  it("finds the optimum of a smooth validation score inside the box and reports test once", async () => {
    const target = [1.1, 0.9, 1.25];
    const splits: Split[] = [];
    const res = await searchCoefficients(
      (x, split) => {
        splits.push(split);
        // Validation and test disagree slightly, as real splits do.
        const shift = split === "test" ? 0.01 : 0;
        let s = 0;
        for (let i = 0; i < x.length; i++) s -= (x[i]! - target[i]! - shift) ** 2;
        return s;
      },
      { numTasks: 3, budget: 120, seed: 7 },
    );
    expect(res.evaluations).toBe(120);
    expect(splits.filter((s) => s === "test")).toHaveLength(1);
    expect(splits.at(-1)).toBe("test");
    expect(res.validation).toBeGreaterThan(res.initValidation);
    for (let i = 0; i < 3; i++) expect(Math.abs(res.lambdas[i]! - target[i]!)).toBeLessThan(0.03);
    for (const r of res.history) for (const l of r.lambdas) expect(l >= 0.8 && l <= 1.3).toBe(true);
    // The reported best is the best validation score in the history.
    expect(res.validation).toBe(Math.max(...res.history.map((h) => h.validation)));
  });

  it("is deterministic for a seed and never worse than the start point", async () => {
    const f = (x: Float64Array) => -Math.abs(x[0]! - 1) - Math.abs(x[1]! - 1.2);
    const a = await searchCoefficients(f, { numTasks: 2, budget: 30, seed: 3, reportTest: false });
    const b = await searchCoefficients(f, { numTasks: 2, budget: 30, seed: 3, reportTest: false });
    expect(a.lambdas).toEqual(b.lambdas);
    expect(a.test).toBeUndefined();
    expect(a.validation).toBeGreaterThanOrEqual(a.initValidation);
  });

  it("rejects a start point outside the box", async () => {
    await expect(searchCoefficients(() => 0, { numTasks: 1, init: 2 })).rejects.toThrow(/outside/);
  });
});

describe("searchPcbLambdas", () => {
  it("prepares once and evaluates θ₀ + τ_m(λ) exactly as pcbMerge computes it", async () => {
    const rng = new Rng(11);
    const d = 2000;
    const base = Float32Array.from({ length: d }, () => rng.normal());
    const models = [0, 1, 2].map((i) =>
      Float32Array.from(base, (b, k) => b + 0.05 * rng.normal() + (k % 3 === i ? 0.5 : 0)),
    );
    const tasks = models.map((m) => Float32Array.from(m, (v, k) => v - base[k]!));
    // Target: the PCB merge at λ* — the search should move towards it.
    const lambdaStar = [1.2, 0.85, 1.1];
    const tauStar = pcbMerge(tasks, { ratio: 0.2, lambdas: lambdaStar });
    const seen: { lambdas: number[]; merged: Float32Array }[] = [];
    const res = await searchPcbLambdas(
      {
        base,
        models,
        pcb: { ratio: 0.2 },
        evaluate: (merged, split) => {
          if (seen.length < 3 && split === "validation") seen.push({ lambdas: [], merged: merged.slice() });
          let s = 0;
          for (let k = 0; k < d; k++) s -= (merged[k]! - (base[k]! + tauStar[k]!)) ** 2;
          return s;
        },
      },
      {
        budget: 60,
        seed: 5,
        onEvaluation: (r) => {
          if (r.evaluation <= seen.length) seen[r.evaluation - 1]!.lambdas = [...r.lambdas];
        },
      },
    );
    expect(res.prepareCount).toBe(1);
    // Every cached evaluation equals the uncached merge at those λ.
    for (const s of seen) {
      const tau = pcbMerge(tasks, { ratio: 0.2, lambdas: s.lambdas });
      for (let k = 0; k < d; k++) expect(s.merged[k]).toBe(Math.fround(base[k]! + tau[k]!));
    }
    expect(res.validation).toBeGreaterThan(res.initValidation);
    expect(res.test).toBeDefined();
    for (let i = 0; i < 3; i++) expect(Math.abs(res.lambdas[i]! - lambdaStar[i]!)).toBeLessThan(0.1);
  });
});

describe("commandEvaluator", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "x-eval-"));
    writeFileSync(
      join(dir, "score.mjs"),
      `const [model, split] = process.argv.slice(2);
       if (process.env.X_MERGE_SPLIT !== split) process.exit(3);
       console.log("evaluating", model);
       console.log("accuracy:", split === "test" ? 0.5 : model.length / 1000);`,
    );
    writeFileSync(join(dir, "fail.mjs"), `console.error("no GPU"); process.exit(4);`);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("runs the command with the model dir and split and parses the last number printed", async () => {
    const ev = commandEvaluator([process.execPath, join(dir, "score.mjs"), "{model}", "{split}"]);
    expect(await ev("/tmp/abc", "validation")).toBeCloseTo(8 / 1000, 12);
    expect(await ev("/tmp/abc", "test")).toBe(0.5);
  });

  it("fails with the exit code and stderr, or when no score is printed", async () => {
    await expect(
      commandEvaluator([process.execPath, join(dir, "fail.mjs")])("/m", "validation"),
    ).rejects.toThrow(/exited with code 4: no GPU/);
    await expect(
      commandEvaluator([process.execPath, "-e", "console.log('done')"])("/m", "test"),
    ).rejects.toThrow(EvaluatorError);
    await expect(commandEvaluator(["/nonexistent/cmd"])("/m", "test")).rejects.toThrow(/could not start/);
  });

  it("parseScore takes the last number on the last line that has one", () => {
    expect(parseScore("epoch 1\nacc 0.75 (n=100)\n\n")).toBe(100);
    expect(parseScore("score: -1.5e-2\n")).toBe(-0.015);
    expect(parseScore("nothing here\n")).toBeUndefined();
  });
});
