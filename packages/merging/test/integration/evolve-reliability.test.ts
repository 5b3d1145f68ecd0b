// x evolve's library side: config keys checked everywhere with suggestions; layer groups and per-group merge
// weights; CMA-ES over merge weights resuming bit for bit after an interruption; changed settings refused by
// name; the evaluator factory a queue worker loads scoring exactly as the run; the evaluator's process group
// stopped on abort; temporaries of dead processes removed.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEvaluator } from "@x/evolution";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  coefficientMerge,
  createEvolveTemporary,
  EvolveConfigError,
  EvolveResumeError,
  evolveEvaluator,
  evolveEvaluatorOptions,
  layerGroups,
  loadEvolveConfig,
  parseEvolveConfig,
  readGenome,
  readLayout,
  removeStaleEvolveTemporaries,
  runEvaluator,
  runEvolve,
} from "../../src/evolve/index.js";
import { writeTinyModel } from "../evolve/fixtures/population.js";

const scorer = fileURLToPath(new URL("../evolve/fixtures/score-model.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "x-evolve-rel-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const model = writeTinyModel;

const command = JSON.stringify([process.execPath, scorer, "{model}"]);
const CMAES = `algorithm: cmaes
population: [e0, e1, e2]
base: base
merge: { method: ta, lambda: 0.4 }
cmaes: { max_fevals: 35, popsize: 7 }
seed: 3
evaluator: { command: ${command} }
`;

function config(name: string, body: string): string {
  const p = join(tmp, name);
  writeFileSync(p, body);
  return p;
}

beforeAll(async () => {
  await model(join(tmp, "base"), 100, 0.5);
  for (let i = 0; i < 3; i++) await model(join(tmp, `e${i}`), i, 0.4);
});

describe("config keys", () => {
  const base = { population: ["a", "b"], evaluator: { command: ["x", "{model}"] } };
  const err = (raw: unknown) => {
    try {
      parseEvolveConfig(raw, "/cfg.yml");
    } catch (e) {
      expect(e).toBeInstanceOf(EvolveConfigError);
      return (e as Error).message;
    }
    throw new Error("accepted");
  };
  it("an unknown key in every block is an error naming its path and the nearest valid key", () => {
    expect(err({ ...base, mode: "merge", base: "b", merge: { method: "ta", lamda: 1 } })).toBe(
      "/cfg.yml: merge.lamda: unknown key (did you mean 'lambda'?)",
    );
    expect(err({ ...base, sed: 1 })).toMatch(/^\/cfg\.yml: sed: unknown key \(did you mean 'seed'\?\)$/);
    expect(err({ ...base, evaluator: { command: ["x", "{model}"], zo: "z" } })).toMatch(
      /evaluator\.zo: unknown key \(did you mean 'zoo'\?\)/,
    );
    expect(
      err({ ...base, algorithm: "cmaes", base: "b", merge: { method: "ta" }, cmaes: { sigma: 0.2 } }),
    ).toMatch(/cmaes\.sigma: unknown key \(did you mean 'sigma0'\?\)/);
    expect(err({ ...base, topK: 0.2 })).toMatch(/topK: unknown key \(it belongs under merge:\)/);
    expect(err({ ...base, completely_unrelated: 1 })).toMatch(/valid keys: algorithm, mode, population/);
  });
  it("keys the algorithm or the method does not read are errors too", () => {
    expect(err({ ...base, algorithm: "cmaes", merge: { method: "mean" }, f: 0.3 })).toMatch(
      /f: applies to algorithm: evolver only/,
    );
    expect(err({ ...base, mode: "merge", merge: { method: "mean", lambda: 1 } })).toMatch(
      /merge\.lambda: merge method mean does not use it \(used by ta, ties, dare, pcb\)/,
    );
    expect(err({ ...base, algorithm: "annealing" })).toMatch(/algorithm: must be one of evolver, cmaes/);
    const ok = parseEvolveConfig({ ...base, algorithm: "cmaes", merge: { method: "mean" } }, "/cfg.yml");
    expect(ok.mode).toBe("merge");
    expect(ok.cmaes).toMatchObject({ maxFevals: 100, sigma0: 1 / 6, layerGranularity: 0, maxWeight: 2 });
  });
});

describe("layer groups and per-group merge weights", () => {
  const layout = [
    { name: "model.embed_tokens.weight", shape: [2], offset: 0, size: 2 },
    { name: "model.layers.0.mlp.weight", shape: [2], offset: 2, size: 2 },
    { name: "model.layers.1.mlp.weight", shape: [2], offset: 4, size: 2 },
    { name: "model.layers.2.mlp.weight", shape: [2], offset: 6, size: 2 },
    { name: "model.layers.3.mlp.weight", shape: [2], offset: 8, size: 2 },
  ];
  it("groups layers by granularity, the rest in 'other'; a granularity that does not divide is an error", () => {
    const g = layerGroups(layout, 2, "/c.yml");
    expect(g.names).toEqual(["layers 0-1", "layers 2-3", "other"]);
    expect(Array.from(g.groupOf)).toEqual([2, 0, 0, 1, 1]);
    expect(layerGroups(layout, 0, "/c.yml").names).toEqual(["all"]);
    expect(() => layerGroups(layout, 3, "/c.yml")).toThrow(/4 layers are not a multiple of 3/);
  });
  it("equal weights in every group give the ungrouped merge; a group's weights act on its tensors only", () => {
    const rng = new Rng(5);
    const genomes = Array.from({ length: 3 }, () => rng.fillNormal(new Float32Array(10)));
    const base = rng.fillNormal(new Float32Array(10));
    const { groupOf } = layerGroups(layout, 2, "/c.yml");
    for (const method of ["ta", "ties", "mean"] as const) {
      const flat = coefficientMerge(method, layout, base, { lambda: 0.7, tiesTopK: 0.5 });
      const grouped = coefficientMerge(method, layout, base, { lambda: 0.7, tiesTopK: 0.5 }, groupOf);
      const c = [0.3, 1.2, 0.8];
      const a = new Float32Array(10);
      const b = new Float32Array(10);
      flat(genomes, c, a);
      grouped(genomes, [...c, ...c, ...c], b);
      expect(Array.from(b), method).toEqual(Array.from(a));
    }
    const ta = coefficientMerge("ta", layout, base, { lambda: 1 }, groupOf);
    const ones = new Float32Array(10);
    const changed = new Float32Array(10);
    ta(genomes, [1, 1, 1, 1, 1, 1, 1, 1, 1], ones);
    ta(genomes, [1, 1, 1, 0, 0, 0, 1, 1, 1], changed); // layers 2-3: no task vectors
    for (let k = 0; k < 10; k++) {
      if (k >= 6) expect(changed[k]).toBeCloseTo(base[k]!, 6);
      else expect(changed[k]).toBe(ones[k]);
    }
  });
});

describe("CMA-ES over merge weights", () => {
  it("an interrupted run resumes to exactly the uninterrupted result; changed settings are refused by name", async () => {
    const cfg = loadEvolveConfig(config("cma.yml", CMAES));
    const ref = await runEvolve(cfg, join(tmp, "cma-ref"), { lookahead: 3 });
    expect(ref.evaluations).toBe(35);
    expect(ref.weights!.values[0]).toHaveLength(3);
    const refModel = readFileSync(join(tmp, "cma-ref", "model", "model.safetensors"));
    const out = join(tmp, "cma-int");
    for (const stopAt of [4, 13, 30]) {
      rmSync(out, { recursive: true, force: true });
      const ac = new AbortController();
      let n = 0;
      await expect(
        runEvolve(cfg, out, {
          signal: ac.signal,
          onProgress: () => {
            if (++n === stopAt) ac.abort();
          },
        }),
      ).rejects.toThrow(/cancelled/);
      expect(readdirSync(out).filter((e) => e.startsWith("."))).toEqual([]);
      const resumed = await runEvolve(cfg, out, { resume: true });
      expect(resumed.outputScore).toBe(ref.outputScore);
      expect(resumed.weights).toEqual(ref.weights);
      expect(readFileSync(join(out, "model", "model.safetensors")).equals(refModel)).toBe(true);
    }
    const changed = loadEvolveConfig(config("cma2.yml", CMAES.replace("lambda: 0.4", "lambda: 0.5")));
    await expect(runEvolve(changed, out, { resume: true })).rejects.toThrow(EvolveResumeError);
    await expect(runEvolve(changed, out, { resume: true })).rejects.toThrow(
      /merge\.lambda: 0\.4 in the checkpoint, 0\.5 in this run/,
    );
    const budget = loadEvolveConfig(config("cma3.yml", CMAES.replace("max_fevals: 35", "max_fevals: 42")));
    await expect(runEvolve(budget, out, { resume: true })).rejects.toThrow(
      /cmaes\.maxFevals: 35 in the checkpoint, 42/,
    );
  });

  it("the evaluator factory a worker loads by { module, export, options } scores coefficients as the run does", async () => {
    const cfg = loadEvolveConfig(config("cma.yml", CMAES));
    const spec = {
      module: fileURLToPath(new URL("../../src/evolve/index.ts", import.meta.url)),
      export: "evolveEvaluator",
      options: evolveEvaluatorOptions(cfg),
    };
    const viaSpec = await loadEvaluator(spec, { importModule: (s) => import(s) });
    const direct = await evolveEvaluator(evolveEvaluatorOptions(cfg));
    const x = Float64Array.from([0.2, 1.3, 0.9]);
    const a = await viaSpec.fitness(x, { target: 0, generation: 0 });
    expect(a).toBe(await direct.fitness(x));
    // the same score as writing the merge by hand and running the evaluator command on it
    const layout = await readLayout(cfg.population[0]!, null, null);
    const gs = await Promise.all(
      cfg.population.map(async (p) => {
        const g = new Float32Array(layout.dim);
        await readGenome(p, layout, g);
        return g;
      }),
    );
    const b = new Float32Array(layout.dim);
    await readGenome(cfg.base!, layout, b);
    const merged = new Float32Array(layout.dim);
    coefficientMerge("ta", layout.evolved, b, { lambda: 0.4, maskSeed: "x-evolve-3" })(gs, x, merged);
    const { writeModel } = await import("../../src/evolve/index.js");
    await writeModel(join(tmp, "by-hand"), cfg.population[0]!, layout, merged);
    expect(await runEvaluator([process.execPath, scorer, "{model}"], tmp, join(tmp, "by-hand"))).toBe(a);
    await expect(direct.fitness(new Float64Array(2))).rejects.toThrow(/must have 3 values, got 2/);
    viaSpec.close?.();
    direct.close();
  });
});

describe("processes and temporaries", () => {
  it("an aborted evaluation stops the command's whole process group", async () => {
    const marker = "sleep 4711";
    const ac = new AbortController();
    const run = runEvaluator(["sh", "-c", `${marker}; echo 1 {model}`], tmp, "m", ac.signal);
    const pids = () => {
      try {
        return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim();
      } catch {
        return "";
      }
    };
    for (let i = 0; i < 100 && pids() === ""; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pids()).not.toBe("");
    ac.abort();
    await expect(run).rejects.toThrow(/was stopped/);
    await new Promise((r) => setTimeout(r, 100));
    expect(pids()).toBe("");
  });

  it("removes temporaries of dead processes of this host only", () => {
    const dir = join(tmp, "temps");
    mkdirSync(dir);
    const host = hostname().replace(/[^A-Za-z0-9]/g, "_");
    const mine = createEvolveTemporary(dir, "candidates");
    mkdirSync(join(dir, `.candidates-${host}-4194303-aaaaaa`));
    mkdirSync(join(dir, `.model-${host}-4194302-bbbbbb`));
    mkdirSync(join(dir, ".candidates-elsewhere-4194303-cccccc"));
    mkdirSync(join(dir, `.candidates-${host}-1-dddddd`)); // pid 1 is alive
    expect(removeStaleEvolveTemporaries(dir)).toEqual([
      `.candidates-${host}-4194303-aaaaaa`,
      `.model-${host}-4194302-bbbbbb`,
    ]);
    expect(existsSync(mine)).toBe(true);
    expect(removeStaleEvolveTemporaries(dir, true)).toEqual([mine.split("/").pop()]);
  });
});
