import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accuracyPercent,
  CADE_METADATA_KEY,
  type CadeCheckpointSettings,
  type CadeDocument,
  CadeSettingsError,
  cadeArmOf,
  cadeCheckpoint,
  cadeFitnessEvaluator,
  initModel,
  loadCadeData,
  loadModel,
  SnnConfigError,
  saveModel,
  sewMlp,
} from "../src/index.js";
import { metadataOf } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "snn-cade-checkpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const source = join(dir, "source.safetensors");
beforeAll(async () => {
  await saveModel(initModel(sewMlp({ hidden: 8, blocks: 1, timeSteps: 2, classes: 4 }), new Rng(9)), source);
});

// Fashion-MNIST clothing (3 classes): 12 training and 6 validation images per class, 24 fitness images; a
// population of 4 members transfer-learned for one epoch from `source`, 2 generations
const base: CadeCheckpointSettings = {
  out: join(dir, "unused.safetensors"),
  data: "fashion-mnist",
  classes: [0, 1, 2],
  trainPerClass: 12,
  valPerClass: 6,
  fitnessSize: 24,
  seed: 2,
  source,
  size: 4,
  memberEpochs: 1,
  batchSize: 12,
  backend: "wasm",
  arm: cadeArmOf({ arm: "cade", f0: 0.05 }),
  generations: 2,
  engine: "float64",
};

const withoutTime = ({ elapsedMs: _e, out: _o, ...rest }: CadeDocument) => rest;

describe("cadeCheckpoint", () => {
  const out = join(dir, "cade.safetensors");
  const ckpt = join(dir, "run");
  let doc: CadeDocument;

  it("builds the population, runs CADE, writes the selected model and returns the document of the file", async () => {
    let members = 0;
    const generations: number[] = [];
    doc = await cadeCheckpoint(
      { ...base, out, checkpointDir: ckpt },
      {
        onMemberProgress: (m, e) => {
          if (e.epochDone) members = m + 1;
        },
        onProgress: (e) => generations.push(e.generation),
      },
    );
    expect(members).toBe(4);
    expect(generations).toEqual([0, 1]);
    expect(doc).toMatchObject({
      out,
      arm: base.arm,
      generations: 2,
      seed: 2,
      engine: "float64",
      data: { data: "fashion-mnist", classes: [0, 1, 2], train: 36, val: 18, fitness: 24, test: 3000 },
      evaluations: 12,
      queue: null,
    });
    expect(doc.spec).toMatchObject({ kind: "sew-mlp", hidden: 8, timeSteps: 2, classes: 3 });
    expect(doc.initial.val).toHaveLength(4);

    const model = await loadModel(out);
    expect(model.spec).toEqual(doc.spec);
    expect(JSON.parse((await metadataOf(out))![CADE_METADATA_KEY]!)).toEqual({
      arm: base.arm,
      generations: 2,
      seed: 2,
      selected: doc.selectedScores,
    });
    // the file is the selected individual: its scores are the document's
    const sets = await loadCadeData(base);
    const s = doc.selectedScores;
    expect(accuracyPercent(model.spec, model.genome, sets.val, "float64")).toBe(s.val);
    expect(accuracyPercent(model.spec, model.genome, sets.fitnessSet, "float64")).toBe(s.fitness);
    expect(accuracyPercent(model.spec, model.genome, sets.test!, "float64")).toBe(s.test);
    expect(s.val).toBe(Math.max(...doc.val));
    expect(existsSync(join(ckpt, "population", "member-3.safetensors"))).toBe(true);
  }, 180_000);

  it("resumed after interruptions in the population and in the DE, ends with the uninterrupted run's model", async () => {
    const s = { ...base, out: join(dir, "resumed.safetensors"), checkpointDir: join(dir, "run2") };
    const stop = new Error("stopped");
    await expect(
      cadeCheckpoint(s, {
        onMemberProgress: (m) => {
          if (m === 2) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    await expect(
      cadeCheckpoint(
        { ...s, resume: true },
        {
          onProgress: (e) => {
            if (e.generation === 1) throw stop;
          },
        },
      ),
    ).rejects.toBe(stop);
    expect(existsSync(s.out)).toBe(false);
    const resumed = await cadeCheckpoint({ ...s, resume: true });
    expect((await loadModel(s.out)).genome).toEqual((await loadModel(out)).genome);
    expect(withoutTime(resumed)).toEqual(withoutTime(doc));
    expect(await metadataOf(s.out)).toEqual(await metadataOf(out));
  }, 180_000);

  it("a remote fitness (the workers' evaluator, here in-process) gives the local result and its queue counts", async () => {
    let completed = 0;
    let closed = false;
    const remote = await cadeCheckpoint(
      { ...base, out: join(dir, "remote.safetensors") },
      {
        connectFitness: async (evaluator) => {
          expect(evaluator).toMatchObject({ module: "@x/snn", export: "cadeFitnessEvaluator" });
          const ev = await cadeFitnessEvaluator(evaluator.options);
          return {
            fitness: async (g) => {
              completed++;
              return ev.fitness(g);
            },
            lookahead: 3,
            stats: () => ({ completed }),
            close: async () => {
              closed = true;
            },
          };
        },
      },
    );
    expect(closed).toBe(true);
    expect(completed).toBeGreaterThanOrEqual(12);
    expect(remote.queue).toEqual({ completed });
    const { queue: _q, ...rest } = withoutTime(remote);
    const { queue: _l, ...local } = withoutTime(doc);
    expect(rest).toEqual(local);
    expect((await loadModel(join(dir, "remote.safetensors"))).genome).toEqual((await loadModel(out)).genome);
  }, 180_000);

  it("refuses other settings on resume (CadeSettingsError naming them) and bad settings (SnnConfigError)", async () => {
    const err = await cadeCheckpoint({
      ...base,
      out: join(dir, "other.safetensors"),
      checkpointDir: ckpt,
      resume: true,
      generations: 3,
      seed: 2,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CadeSettingsError);
    expect((err as CadeSettingsError).keys).toEqual(["generations"]);
    expect((err as Error).message).toBe(`${ckpt} holds a run with other settings (generations)`);

    const bad = join(dir, "bad.safetensors");
    const refusal = (s: Partial<CadeCheckpointSettings>) =>
      cadeCheckpoint({ ...base, out: bad, ...s }).then(
        () => "resolved",
        (e: unknown) => (e instanceof SnnConfigError ? e.message : `not an SnnConfigError: ${e}`),
      );
    const files = [0, 1, 2].map((i) => join(ckpt, "population", `member-${i}.safetensors`));
    const building = { source: undefined, size: undefined, memberEpochs: undefined, batchSize: undefined };
    expect(await refusal({ ...building, backend: undefined, population: files })).toBe(
      "CADE's DE/rand/1 needs at least 4 members, population gives 3",
    );
    expect(await refusal({ ...building, population: [...files, files[0]!] })).toBe(
      "backend builds a population; population gives one",
    );
    expect(await refusal({ population: [...files, files[0]!] })).toBe(
      "source builds a population; population gives one",
    );
    expect(await refusal({ fitnessSize: 100 })).toBe("fitnessSize 100 exceeds the 36 training images");
    expect(await refusal({ size: undefined })).toBe("size and memberEpochs build a population: give both");
    expect(existsSync(bad)).toBe(false);
  }, 180_000);
});
