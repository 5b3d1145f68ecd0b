import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  accuracyPercent,
  armControl,
  averageGenomes,
  cadeEvaluatorSpec,
  cadeFitnessEvaluator,
  greedySoup,
  initModel,
  memberRecipes,
  runCade,
  SnnConfigError,
  sewMlp,
} from "../src/index.js";
import { fashionSample } from "./helpers.js";

const schedule = (arm: Parameters<typeof armControl>[0], g: number, seed = 1) => {
  const c = armControl(arm, g);
  const rng = new Rng(seed);
  const out: { f: number; cr: number }[] = [];
  for (let i = 0; i < g; i++) {
    c.begin(i, rng);
    out.push(c.sample(0, rng));
    c.end(i, rng);
  }
  return out;
};

describe("CADE arms", () => {
  it("S3: F0 at g = 0, then Fmin + (F0 − Fmin)(1 + cos(πg/P))/2 + U(Fmin, F0) with P = round(0.4 G)", () => {
    const f0 = 1e-3;
    const fmin = 1e-4;
    const s = schedule({ kind: "cade", f0, cr0: f0 }, 20);
    expect(s[0]).toEqual({ f: f0, cr: f0 });
    for (let g = 1; g < 20; g++) {
      const cos = fmin + ((f0 - fmin) * (1 + Math.cos((Math.PI * g) / 8))) / 2;
      expect(s[g].f).toBeGreaterThanOrEqual(cos + fmin - 1e-15);
      expect(s[g].f).toBeLessThanOrEqual(cos + f0 + 1e-15);
      expect(s[g].cr).toBeGreaterThanOrEqual(cos + fmin - 1e-15);
    }
    // the trough of the cosine at g = P = 8 is below the start
    expect(s[8].f).toBeLessThan(s[0].f + fmin);
  });

  it("constant, linear decay, S3 mean and jitter-only have the documented values", () => {
    expect(schedule({ kind: "constant", f: 0.5, cr: 0.9 }, 3).map((p) => p.cr)).toEqual([0.9, 0.9, 0.9]);
    const lin = schedule({ kind: "linear", f0: 1e-3, cr0: 1e-3 }, 5).map((p) => p.f);
    expect(lin[0]).toBeCloseTo(1e-3, 15);
    expect(lin[4]).toBeCloseTo(1e-4, 15);
    expect(lin[2]).toBeCloseTo(5.5e-4, 15);
    // the S3 mean equals the average of many S3 runs
    const mean = schedule({ kind: "cade-mean", f0: 1e-3, cr0: 1e-3 }, 20)[5].f;
    let avg = 0;
    for (let seed = 0; seed < 400; seed++)
      avg += schedule({ kind: "cade", f0: 1e-3, cr0: 1e-3 }, 20, seed).reduce((a, p) => a + p.f, 0) / 20;
    expect(avg / 400).toBeCloseTo(mean, 5);
    const jit = schedule({ kind: "jitter", f0: 1e-3, cr0: 1e-3 }, 20);
    expect(jit[0].f).toBe(1e-3);
    expect(
      Math.max(...jit.slice(1).map((p) => p.f)) - Math.min(...jit.slice(1).map((p) => p.f)),
    ).toBeLessThan(9e-4);
  });

  it("rejects CR > 1 and negative F", () => {
    expect(() => armControl({ kind: "constant", f: -1, cr: 0.5 }, 3)).toThrow(SnnConfigError);
    expect(() => armControl({ kind: "constant", f: 0.5, cr: 2 }, 3)).toThrow(/CR/);
  });
});

describe("runCade", () => {
  const spec = sewMlp({ hidden: 16, blocks: 1, classes: 10 });
  const data = fashionSample(300, 8);
  const fit = {
    images: data.images.subarray(0, 200 * 784),
    labels: data.labels.subarray(0, 200),
    count: 200,
  };
  const val = { images: data.images.subarray(200 * 784), labels: data.labels.subarray(200), count: 100 };
  const population = [1, 2, 3, 4, 5, 6].map((s) => {
    const m = initModel(spec, new Rng(s));
    for (const e of m.layout.entries) if (e.role === "bn.bias") m.tensor(e.name).fill(0.4);
    return m.genome;
  });

  it("never lowers any member's fitness, charges one evaluation per child, selects by validation and leaves its input alone", async () => {
    const before = population.map((g) => g.slice());
    const r = await runCade({
      spec,
      population,
      fitnessSet: fit,
      val,
      generations: 6,
      arm: { kind: "cade", f0: 0.05, cr0: 0.05 },
      seed: 2,
    });
    expect(r.evaluations).toBe(6 + 6 * 6);
    for (let i = 0; i < population.length; i++) expect(population[i]).toEqual(before[i]);
    r.population.forEach((g, i) => {
      expect(r.fitness[i]).toBeGreaterThanOrEqual(accuracyPercent(spec, before[i], fit) - 1e-12);
      expect(accuracyPercent(spec, g, fit)).toBeCloseTo(r.fitness[i], 10);
      expect(accuracyPercent(spec, g, val)).toBeCloseTo(r.val[i], 10);
    });
    expect(r.val[r.selected]).toBe(Math.max(...r.val));
    expect(r.curve.length).toBe(7);
    for (let k = 1; k < r.curve.length; k++)
      expect(r.curve[k].bestFitness).toBeGreaterThanOrEqual(r.curve[k - 1].bestFitness);
  });

  it("without j_rand and CR = 0 no child differs from its parent, so nothing changes", async () => {
    const r = await runCade({
      spec,
      population,
      fitnessSet: fit,
      val,
      generations: 2,
      arm: { kind: "constant", f: 0.5, cr: 0 },
      seed: 2,
    });
    for (let i = 0; i < population.length; i++) expect(r.population[i]).toEqual(population[i]);
  });

  it("is deterministic for a seed", async () => {
    const run = () =>
      runCade({
        spec,
        population,
        fitnessSet: fit,
        val,
        generations: 3,
        arm: { kind: "constant", f: 0.3, cr: 0.2 },
        seed: 9,
      });
    const a = await run();
    const b = await run();
    expect(a.population).toEqual(b.population);
  });

  it("gives the identical result with speculative lookahead and with the fitness of cadeFitnessEvaluator", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { saveSafetensors, Tensor } = await import("@x/tensor-core");
    const dir = mkdtempSync(join(tmpdir(), "snn-cade-eval-"));
    try {
      // the fitness set as a data file, named by a FitnessSetRef with indices (as a worker would rebuild it)
      const file = join(dir, "data.safetensors");
      await saveSafetensors(file, {
        images: new Tensor("F32", [data.count, 784], data.images.slice()),
        labels: new Tensor("U8", [data.count], data.labels.slice()),
      });
      const indices = Array.from({ length: 200 }, (_, i) => i);
      const ref = { data: file, split: "train" as const, classes: null, indices };
      const evSpec = cadeEvaluatorSpec({ spec, fitnessSet: ref, set: fit, engine: "float64" });
      expect(evSpec).toMatchObject({ module: "@x/snn", export: "cadeFitnessEvaluator" });
      expect(JSON.parse(JSON.stringify(evSpec.options))).toEqual(evSpec.options);
      const remote = await cadeFitnessEvaluator(evSpec.options);
      const base = {
        spec,
        population,
        val,
        generations: 4,
        arm: { kind: "cade", f0: 0.08, cr0: 0.08 } as const,
        seed: 4,
        engine: "float64" as const,
      };
      const local = await runCade({ ...base, fitnessSet: fit });
      const ahead = await runCade({ ...base, fitnessSet: fit, lookahead: 3 });
      const viaFactory = await runCade({
        ...base,
        lookahead: 2,
        fitness: async (g) => remote.fitness(g),
      });
      expect(local.history.reduce((a, h) => a + h.accepted, 0)).toBeGreaterThan(0);
      for (const r of [ahead, viaFactory]) {
        expect(r.population).toEqual(local.population);
        expect(r.fitness).toEqual(local.fitness);
        expect(r.val).toEqual(local.val);
        expect(r.curve).toEqual(local.curve);
        expect(r.selected).toBe(local.selected);
      }
      // a worker whose data differs refuses to evaluate, naming the file
      await expect(
        cadeFitnessEvaluator({ ...evSpec.options, fitnessSet: { ...ref, indices: indices.slice(1) } }),
      ).rejects.toThrow(/data\.safetensors: the fitness set here .* differs from the run's/);
      await expect(runCade({ ...base })).rejects.toThrow(/needs a fitnessSet or a fitness function/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("baselines and recipes", () => {
  it("uniform average and greedy soup", () => {
    const spec = sewMlp({ hidden: 8, blocks: 1 });
    const g = [1, 2, 3].map((s) => initModel(spec, new Rng(s)).genome);
    const avg = averageGenomes(g);
    expect(avg[5]).toBeCloseTo((g[0][5] + g[1][5] + g[2][5]) / 3, 6);
    const data = fashionSample(60, 2);
    const soup = greedySoup(spec, g, data);
    expect(soup.members.length).toBeGreaterThanOrEqual(1);
    expect(soup.valAccuracy).toBeGreaterThanOrEqual(
      Math.max(...g.map((x) => accuracyPercent(spec, x, data))),
    );
  });

  it("member recipes cover CADE's grid as a half fraction, each with its own seed", () => {
    const r = memberRecipes(8, 3);
    expect(
      new Set(
        r.map((x) => JSON.stringify([x.augment.labelSmoothing, x.augment.mixupAlpha, x.augment.erasing])),
      ).size,
    ).toBe(8);
    expect(new Set(r.map((x) => x.lr))).toEqual(new Set([0.05, 0.1]));
    expect(new Set(r.map((x) => x.seed)).size).toBe(8);
  });
});

describe("buildPopulation", () => {
  it("fine-tunes members from the source body with fresh heads, saves them, and a resumed build loads them unchanged", async () => {
    const { buildPopulation, initModel: init } = await import("../src/index.js");
    const { mkdtempSync, readdirSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "snn-pop-"));
    try {
      const source = init(sewMlp({ hidden: 8, blocks: 1, classes: 4 }), new Rng(1));
      const spec = sewMlp({ hidden: 8, blocks: 1, classes: 10 });
      const train = fashionSample(64, 3);
      const o = {
        spec,
        source,
        train,
        size: 4,
        epochs: 1,
        batchSize: 16,
        seed: 2,
        backend: "wasm" as const,
        dir,
        resume: true,
      };
      const a = await buildPopulation(o);
      expect(
        readdirSync(dir)
          .filter((f) => f.endsWith(".safetensors"))
          .sort(),
      ).toEqual([0, 1, 2, 3].map((i) => `member-${i}.safetensors`));
      expect(a.every((m) => m.spec.classes === 10)).toBe(true);
      expect(new Set(a.map((m) => m.tensor("fc.weight")[0])).size).toBe(4);
      const b = await buildPopulation(o);
      for (let i = 0; i < 4; i++) expect(b[i].genome).toEqual(a[i].genome);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
