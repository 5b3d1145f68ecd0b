// Methods that need per-model statistics: RegMean without Gram matrices is an error unless
// `missing_gram: average` asks for the average (on main it averaged silently); Fisher merging of
// checkpoints reads `fisher.safetensors` beside each model (on main it could not run from files at
// all), RegMean reads `gram.safetensors`, and both give what the in-memory API gives.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, Rng, Tensor, writeSafetensors } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MergeInputError,
  MergeMethodError,
  type MergeTensor,
  mergeCheckpoints,
  mergeTensors,
  parseMergeConfig,
} from "../../src/index.js";
import { AUX_FILES } from "../../src/io/aux-files.js";
import { type FixtureModel, fineTune, randomModel, writeModelDir } from "../pipeline/fixtures.js";

let root: string;
let models: FixtureModel[];
let fishers: FixtureModel[];
let grams: FixtureModel[];

/** Writes `model`'s tensors (float32) as one safetensors file. */
async function writeStats(path: string, model: FixtureModel): Promise<void> {
  await writeSafetensors(
    path,
    Object.entries(model).map(([name, t]) => ({ name, dtype: "F32" as const, shape: t.shape })),
    Object.entries(model).map(([name, t]) => [name, Tensor.fromFloat32("F32", t.shape, t.data)] as const),
  );
}

const dict = (m: FixtureModel) =>
  new Map<string, MergeTensor>(Object.entries(m).map(([n, t]) => [n, { shape: t.shape, data: t.data }]));

async function readMerged(dir: string): Promise<Map<string, Float32Array>> {
  const ck = await openCheckpoint(dir);
  const out = new Map<string, Float32Array>();
  for (const n of ck.names()) out.set(n, await ck.fileOf(n).readFloat32(n));
  await ck.close();
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-aux-"));
  const rng = new Rng(12);
  const base = randomModel(rng);
  models = [0, 1, 2].map(() => fineTune(rng, base));
  // Diagonal Fisher: positive, varying over parameters; Gram matrices of the 2-D weights' inputs.
  fishers = models.map((m) =>
    Object.fromEntries(
      Object.entries(m).map(([n, t]) => [n, { shape: t.shape, data: t.data.map(() => rng.uniform() * 2) }]),
    ),
  );
  grams = models.map(() => {
    const g: FixtureModel = {};
    for (const [n, t] of Object.entries(base)) {
      if (t.shape.length !== 2) continue;
      const inDim = t.shape[1]!;
      const x = Float32Array.from({ length: 20 * inDim }, () => rng.normal());
      const data = new Float32Array(inDim * inDim);
      for (let r = 0; r < inDim; r++)
        for (let c = 0; c < inDim; c++)
          for (let s = 0; s < 20; s++) data[r * inDim + c]! += (x[s * inDim + r]! * x[s * inDim + c]!) / 20;
      g[n] = { shape: [inDim, inDim], data };
    }
    return g;
  });
  for (let i = 0; i < 3; i++) {
    const dir = await writeModelDir(join(root, `m${i}`), models[i]!);
    await writeStats(join(dir, AUX_FILES.fisher), fishers[i]!);
    await writeStats(join(dir, AUX_FILES.gram), grams[i]!);
  }
  // A model without statistics.
  await writeModelDir(join(root, "bare"), models[0]!);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const config = (method: string, dirs: string[], params = "") =>
  parseMergeConfig(
    `merge_method: ${method}\nmodels:\n${dirs.map((d) => `  - model: ${join(root, d)}`).join("\n")}\n${params ? `parameters: { ${params} }\n` : ""}`,
  );

let runs = 0;

describe("methods with per-model statistics", () => {
  it("regmean without any Gram matrices is an error unless missing_gram: average; strict asks for every 2-D weight's", async () => {
    const dicts = models.slice(0, 2).map(dict);
    const fallback =
      "; set missing_gram: average (x merge --param missing_gram=average) to merge without them";
    const none = `regmean: no Gram matrices were given for any tensor (aux.gram in memory, gram.safetensors beside each checkpoint)${fallback}`;
    expect(() => mergeTensors("regmean", { models: dicts })).toThrow(new MergeMethodError(none));
    const avg = mergeTensors("regmean", { models: dicts, params: { missing_gram: "average" } });
    const lin = mergeTensors("linear", { models: dicts });
    for (const [n, t] of avg) expect(t.data).toEqual(lin.get(n)!.data);
    // From checkpoints without gram.safetensors: the same error naming the files expected, before any
    // tensor is read.
    const bare = join(root, "bare", "gram.safetensors");
    await expect(
      mergeCheckpoints(config("regmean", ["bare", "bare"]), join(root, `out-${runs++}`)),
    ).rejects.toThrow(
      new MergeMethodError(
        `regmean: no Gram matrices were given for any tensor (expected ${bare}, ${bare}: missing)${fallback}`,
      ),
    );
    // Gram matrices for some linear weights: those are RegMean-merged, the others averaged; `strict`
    // refuses a 2-D weight without them.
    const head = (g: FixtureModel) =>
      new Map([["lm_head.weight", { shape: g["lm_head.weight"]!.shape, data: g["lm_head.weight"]!.data }]]);
    const some = grams.slice(0, 2).map(head);
    const partial = mergeTensors("regmean", { models: dicts, aux: { gram: some } });
    expect(partial.get("model.norm.weight")!.data).toEqual(lin.get("model.norm.weight")!.data);
    expect(partial.get("model.embed_tokens.weight")!.data).toEqual(
      lin.get("model.embed_tokens.weight")!.data,
    );
    expect(partial.get("lm_head.weight")!.data).not.toEqual(lin.get("lm_head.weight")!.data);
    expect(() =>
      mergeTensors("regmean", { models: dicts, aux: { gram: some }, params: { missing_gram: "strict" } }),
    ).toThrow(
      /regmean: tensor 'model\.embed_tokens\.weight' \(shape \[10, 8\]\) has no Gram matrices \(missing_gram: strict\)/,
    );
  });

  it("fisher reads fisher.safetensors beside each model: same as the in-memory merge", async () => {
    const out = join(root, `out-${runs++}`);
    await mergeCheckpoints(config("fisher", ["m0", "m1", "m2"], "fisher_floor: 1e-3"), out);
    const want = mergeTensors("fisher", {
      models: models.map(dict),
      aux: { fisher: fishers.map(dict) },
      params: { fisher_floor: 1e-3 },
    });
    const got = await readMerged(out);
    for (const [n, t] of want) expect(got.get(n)).toEqual(t.data);
    // A model without the file: an error naming the file expected.
    const err = await mergeCheckpoints(config("fisher", ["m0", "bare"]), join(root, `out-${runs++}`)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MergeInputError);
    expect((err as Error).message).toBe(
      `model ${join(root, "bare")}: no Fisher weights (expected ${join(root, "bare", "fisher.safetensors")}, with the model's tensor names; see the package docs, aux-inputs)`,
    );
  });

  it("regmean reads gram.safetensors for the linear weights and averages the rest", async () => {
    const out = join(root, `out-${runs++}`);
    await mergeCheckpoints(
      config("regmean", ["m0", "m1", "m2"], "reduce_non_diagonal_ratio: 0.9, missing_gram: strict"),
      out,
    );
    const want = mergeTensors("regmean", {
      models: models.map(dict),
      aux: { gram: grams.map(dict) },
      params: { reduce_non_diagonal_ratio: 0.9 },
    });
    const got = await readMerged(out);
    for (const [n, t] of want) expect(got.get(n)).toEqual(t.data);
  });
});
