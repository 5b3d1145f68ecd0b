import { readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  commandEvaluator,
  mergeCheckpoints,
  type ParameterMap,
  parseMergeConfig,
  prepareCheckpointMerge,
  type Split,
  searchCheckpointCoefficients,
} from "../../src/index.js";
import { fineTune, randomModel, writeModelDir } from "./fixtures.js";

let root: string;

async function flatOf(dir: string): Promise<Float32Array> {
  const ck = await openCheckpoint(dir);
  const names = ck.names().sort();
  const parts = await Promise.all(names.map((n) => ck.fileOf(n).readFloat32(n)));
  await ck.close();
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const yaml = (w: number[]) => `
merge_method: pcb
base_model: ${root}/base
models:
  - model: ${root}/ft0
    parameters: { weight: ${w[0]} }
  - model: ${root}/base
  - model: ${root}/ft1
    parameters: { weight: ${w[1]} }
parameters: { ratio: 0.2 }
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-ckpt-search-"));
  const rng = new Rng(77);
  const base = randomModel(rng);
  await writeModelDir(join(root, "base"), base);
  await writeModelDir(join(root, "ft0"), fineTune(rng, base, 0.05));
  await writeModelDir(join(root, "ft1"), fineTune(rng, base, 0.05));
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe("prepared checkpoint merges", () => {
  it("writing again with new per-model weights equals a fresh merge with those weights", async () => {
    const prepared = await prepareCheckpointMerge(parseMergeConfig(yaml([1, 1])));
    try {
      expect(prepared.scope).toBe("global");
      expect(prepared.mergeModelIndices).toEqual([0, 2]);
      const params: ParameterMap[] = [{ weight: 1.2 }, {}, { weight: 0.9 }];
      await prepared.write(join(root, "p1"), { modelParameters: params });
      await prepared.write(join(root, "p2"), { modelParameters: [{ weight: 0.8 }, {}, { weight: 1.1 }] });
      await mergeCheckpoints(parseMergeConfig(yaml([1.2, 0.9])), join(root, "fresh"));
      expect(await flatOf(join(root, "p1"))).toEqual(await flatOf(join(root, "fresh")));
      expect(await flatOf(join(root, "p2"))).not.toEqual(await flatOf(join(root, "fresh")));
    } finally {
      await prepared.close();
    }
  });
});

describe("searchCheckpointCoefficients", () => {
  it("finds per-task λ on validation with a JS evaluator over real model directories", async () => {
    const lambdaStar = [1.15, 0.9];
    await mergeCheckpoints(parseMergeConfig(yaml(lambdaStar)), join(root, "target"));
    const target = await flatOf(join(root, "target"));
    const seenDirs: string[] = [];
    const splits: Split[] = [];
    const res = await searchCheckpointCoefficients(
      parseMergeConfig(yaml([1, 1])),
      async (dir, split) => {
        seenDirs.push(dir);
        splits.push(split);
        const got = await flatOf(dir);
        let s = 0;
        for (let k = 0; k < got.length; k++) s -= (got[k]! - target[k]!) ** 2;
        return s;
      },
      { budget: 30, seed: 2, outDir: join(root, "winner"), workDir: root },
    );
    expect(res.evaluations).toBeLessThanOrEqual(30); // whole CMA-ES generations only
    expect(res.evaluations).toBeGreaterThan(20);
    expect(splits.filter((s) => s === "test")).toHaveLength(1);
    expect(res.validation).toBeGreaterThan(res.initValidation);
    for (let i = 0; i < 2; i++) expect(Math.abs(res.lambdas[i]! - lambdaStar[i]!)).toBeLessThan(0.08);
    // Candidate directories are gone; the winner equals a fresh merge of the returned config.
    expect(readdirSync(root).filter((f) => f.startsWith("x-merge-search-"))).toEqual([]);
    expect(res.config.models[0]!.parameters.weight).toBe(res.lambdas[0]);
    expect(res.config.models[1]!.parameters).toEqual({});
    await mergeCheckpoints(res.config, join(root, "winner-fresh"));
    expect(await flatOf(join(root, "winner"))).toEqual(await flatOf(join(root, "winner-fresh")));
    expect(readdirSync(join(root, "winner"))).toContain("mergekit_config.yml");
  });

  it("scores candidates with an external command that receives the model directory", async () => {
    const script = join(root, "count.mjs");
    writeFileSync(
      script,
      `import { readdirSync } from "node:fs";
       const [dir, split] = process.argv.slice(2);
       console.log("score", readdirSync(dir).filter((f) => f.endsWith(".safetensors")).length + (split === "test" ? 10 : 0));`,
    );
    const res = await searchCheckpointCoefficients(
      parseMergeConfig(yaml([1, 1])),
      commandEvaluator([process.execPath, script, "{model}", "{split}"]),
      { budget: 3, seed: 1 },
    );
    expect(res.validation).toBe(1);
    expect(res.test).toBe(11);
  });
});
