import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fisherMerge, regmeanMerge } from "@x/merging";
import { openCheckpoint, Rng, saveSafetensors, Tensor } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvolveConfigError, loadEvolveConfig, runEvaluator, runEvolve } from "../../src/evolve/index.js";
import { writeTinyModel } from "./fixtures/population.js";

/** `x evolve CONFIG OUT [--resume]` without the CLI. */
const evolveCommand = {
  run: async (argv: string[]): Promise<number> => {
    await runEvolve(loadEvolveConfig(argv[0]!), argv[1]!, { resume: argv.includes("--resume") });
    return 0;
  },
};

const scorer = fileURLToPath(new URL("./fixtures/score-model.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "x-evolve-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const model = writeTinyModel;

/** A statistics file: positive Fisher diagonals and an SPD 4×4 Gram matrix for layer.weight. */
async function statsFile(file: string, seed: number, skipFisherBias = false): Promise<void> {
  const r = new Rng(`stats-${seed}`);
  const x = new Float32Array(8 * 4).map(() => r.normal(0, 1));
  const gram = new Float32Array(16);
  for (let a = 0; a < 4; a++)
    for (let b = 0; b < 4; b++)
      for (let k = 0; k < 8; k++) gram[a * 4 + b] += (x[k * 4 + a] * x[k * 4 + b]) / 8;
  const tensors: Record<string, Tensor> = {
    "fisher.layer.weight": new Tensor(
      "F32",
      [3, 4],
      new Float32Array(12).map(() => 0.1 + r.uniform()),
    ),
    "gram.layer.weight": new Tensor("F32", [4, 4], gram),
  };
  if (!skipFisherBias)
    tensors["fisher.layer.bias"] = new Tensor(
      "F32",
      [3],
      new Float32Array(3).map(() => 0.1 + r.uniform()),
    );
  await saveSafetensors(file, tensors);
}

async function readStats(file: string, name: string): Promise<Float32Array> {
  const ck = await openCheckpoint(file);
  try {
    return await ck.readFloat32(name);
  } finally {
    await ck.close();
  }
}

async function readModel(dir: string, name: string): Promise<Float32Array> {
  const ck = await openCheckpoint(dir);
  try {
    return await ck.readFloat32(name);
  } finally {
    await ck.close();
  }
}

beforeAll(async () => {
  await model(join(tmp, "base"), 100, 0.5);
  for (let i = 0; i < 4; i++) await model(join(tmp, `expert${i}`), i, 0.4);
  mkdirSync(join(tmp, "stats"), { recursive: true });
  for (let i = 0; i < 3; i++) await statsFile(join(tmp, "stats", `e${i}.safetensors`), i);
  await statsFile(join(tmp, "stats", "nobias.safetensors"), 9, true);
});

function config(name: string, body: string): string {
  const p = join(tmp, name);
  writeFileSync(p, body);
  return p;
}

describe("x evolve", () => {
  it("runEvaluator takes the last number printed", async () => {
    const v = await runEvaluator([process.execPath, scorer, "{model}"], tmp, join(tmp, "expert0"));
    expect(v).toBeLessThan(0);
  });

  it("mode B with TA: writes the merged model, keeps non-evolved tensors and config, resumes to the same result", async () => {
    const cfg = config(
      "b.yml",
      `mode: merge
population: [expert0, expert1, expert2, expert3]
base: base
merge: { method: ta, lambda: 0.3 }
generations: 2
seed: 5
evaluator:
  command: ["${process.execPath}", "${scorer}", "{model}"]
`,
    );
    const out = join(tmp, "out-b");
    expect(await evolveCommand.run([cfg, out])).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "evolve-result.json"), "utf8"));
    expect(result.evaluations).toBe(1 + 4 * 2 - result.skipped);
    const best = result.history.map((h: { best: number }) => h.best);
    for (let i = 1; i < best.length; i++) expect(best[i]).toBeGreaterThanOrEqual(best[i - 1]);
    // the written model scores exactly what the run reported
    const v = await runEvaluator([process.execPath, scorer, "{model}"], tmp, join(out, "model"));
    expect(v).toBe(result.outputScore);
    const ck = await openCheckpoint(join(out, "model"));
    expect((await ck.read("layer.step")).data).toEqual(new BigInt64Array([42n]));
    await ck.close();
    expect(JSON.parse(readFileSync(join(out, "model", "config.json"), "utf8"))).toEqual({ seed: 0 });
    // resuming a finished run gives the same model without re-evaluating
    const before = readFileSync(join(out, "model", "model.safetensors"));
    expect(await evolveCommand.run([cfg, out, "--resume"])).toBe(0);
    expect(readFileSync(join(out, "model", "model.safetensors")).equals(before)).toBe(true);
  });

  it("mode A outputs the best individual by the evaluator's score", async () => {
    const cfg = config(
      "a.yml",
      `mode: standalone
population: [expert0, expert1, expert2]
generations: 1
seed: 1
evaluator:
  command: ["${process.execPath}", "${scorer}", "{model}"]
`,
    );
    const out = join(tmp, "out-a");
    expect(await evolveCommand.run([cfg, out])).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "evolve-result.json"), "utf8"));
    expect(result.outputScore).toBe(Math.max(...result.scores));
  });

  for (const method of ["fisher", "regmean"] as const) {
    it(`mode B with ${method}: statistics from files; with G = 0 the output is the registry merge of the experts`, async () => {
      const body = (g: number) => `mode: merge
population: [expert0, expert1, expert2]
merge: { method: ${method}, stats: [stats/e0.safetensors, stats/e1.safetensors, stats/e2.safetensors] }
generations: ${g}
seed: 3
evaluator:
  command: ["${process.execPath}", "${scorer}", "{model}"]
`;
      const out0 = join(tmp, `out-${method}-0`);
      expect(await evolveCommand.run([config(`${method}0.yml`, body(0)), out0])).toBe(0);
      const experts = await Promise.all(
        [0, 1, 2].map((i) => readModel(join(tmp, `expert${i}`), "layer.weight")),
      );
      const files = [0, 1, 2].map((i) => join(tmp, "stats", `e${i}.safetensors`));
      const expected =
        method === "fisher"
          ? fisherMerge(experts, await Promise.all(files.map((f) => readStats(f, "fisher.layer.weight"))), {
              floor: 1e-10,
            })
          : regmeanMerge(
              experts,
              await Promise.all(files.map((f) => readStats(f, "gram.layer.weight"))),
              3,
              4,
              0.1,
            );
      const got = await readModel(join(out0, "model"), "layer.weight");
      for (let k = 0; k < 12; k++) expect(got[k]).toBeCloseTo(expected[k], 6);
      // evolving: the merged score never drops and the written model scores what the run reported
      const out = join(tmp, `out-${method}`);
      expect(await evolveCommand.run([config(`${method}.yml`, body(2)), out])).toBe(0);
      const result = JSON.parse(readFileSync(join(out, "evolve-result.json"), "utf8"));
      const r0 = JSON.parse(readFileSync(join(out0, "evolve-result.json"), "utf8"));
      expect(result.outputScore).toBeGreaterThanOrEqual(r0.outputScore);
      const v = await runEvaluator([process.execPath, scorer, "{model}"], tmp, join(out, "model"));
      expect(v).toBe(result.outputScore);
    });
  }

  it("missing statistics: errors name the model", async () => {
    const noStats = config(
      "nostats.yml",
      `mode: merge\npopulation: [expert0, expert1]\nmerge: { method: fisher }\nevaluator: { command: 'x {model}' }\n`,
    );
    expect(() => loadEvolveConfig(noStats)).toThrow(
      /merge.stats: merge method fisher needs a list of statistics files/,
    );
    const partial = config(
      "partial.yml",
      `mode: merge
population: [expert0, expert1]
merge: { method: fisher, stats: [stats/e0.safetensors, stats/nobias.safetensors] }
generations: 1
evaluator:
  command: ["${process.execPath}", "${scorer}", "{model}"]
`,
    );
    await expect(evolveCommand.run([partial, join(tmp, "out-partial")])).rejects.toThrow(
      /statistics of .*expert1: .*nobias\.safetensors has no tensor 'fisher\.layer\.bias'/,
    );
  });

  it("rejects bad configurations naming the file and the field", () => {
    const p = config(
      "bad.yml",
      "mode: merge\npopulation: [expert0, expert1]\nmerge: { method: ties }\nevaluator: { command: 'x {model}' }\n",
    );
    expect(() => loadEvolveConfig(p)).toThrow(EvolveConfigError);
    expect(() => loadEvolveConfig(p)).toThrow(/bad\.yml: base: merge method ties needs a base model/);
    const q = config("bad2.yml", "population: [expert0, expert1]\nevaluator: { command: [echo, '1'] }\n");
    expect(() => loadEvolveConfig(q)).toThrow(/evaluator.command: must contain \{model\}/);
    const z = config(
      "bad3.yml",
      "population: [expert0, expert1]\nevaluator: { zoo: z, command: 'x {model}' }\n",
    );
    expect(() => loadEvolveConfig(z)).toThrow(/evaluator: give exactly one of command or zoo/);
  });
});
