import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { subset } from "@x/datasets";
import { afterAll, describe, expect, it } from "vitest";
import {
  FastSnn,
  loadClassPool,
  loadModel,
  SnnConfigError,
  splitPerClass,
  TRAIN_METADATA_KEY,
  type TrainCheckpointSettings,
  trainCheckpoint,
} from "../src/index.js";
import { metadataOf } from "./helpers.js";

const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const dir = mkdtempSync(join(tmpdir(), "snn-train-checkpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Fashion-MNIST footwear and bag, 16 training and 4 validation images per class: 4 steps of 16 per epoch
const base: TrainCheckpointSettings = {
  out: join(dir, "unused.safetensors"),
  data: "fashion-mnist",
  classes: [5, 7, 8, 9],
  trainPerClass: 16,
  valPerClass: 4,
  keepBest: true,
  model: { model: "sew-mlp", hidden: 8, blocks: 1, timeSteps: 2 },
  epochs: 2,
  batchSize: 16,
  optimizer: { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: "cosine",
  augment: { shift: 1, erasing: 0, mixupAlpha: 0, labelSmoothing: 0.1 },
  seed: 3,
  backend: "wasm",
};

/** Runs `s`, stopping it (as a kill would) when `stopAt` steps are done. */
async function interrupted(s: TrainCheckpointSettings, stopAt: number) {
  const stop = new Error("stopped");
  await expect(
    trainCheckpoint(s, {
      onProgress: (e) => {
        if (e.globalStep === stopAt) throw stop;
      },
    }),
  ).rejects.toBe(stop);
}

describe("trainCheckpoint", () => {
  const out = join(dir, "source.safetensors");
  let doc: Awaited<ReturnType<typeof trainCheckpoint>>;

  it("trains on the split, writes the best epoch with its record, and returns the document of the file", async () => {
    const notices: string[] = [];
    let steps = 0;
    doc = await trainCheckpoint(
      { ...base, out },
      { onNotice: (l) => notices.push(l), onProgress: () => steps++ },
    );
    expect(notices).toEqual([]);
    expect(steps).toBe(8);
    const record = {
      data: "fashion-mnist",
      classes: [5, 7, 8, 9],
      trainImages: 64,
      valImages: 16,
      epochs: 2,
      batchSize: 16,
      optimizer: base.optimizer,
      schedule: "cosine",
      augment: base.augment,
      seed: 3,
      init: null,
      keepBest: true,
    };
    expect(doc).toMatchObject({ out, ...record, steps: 8, resumed: false, backend: "wasm" });
    expect(doc.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(doc.bestEpoch === 0 || doc.bestEpoch === 1).toBe(true);

    const model = await loadModel(out);
    expect(model.spec).toEqual(doc.spec);
    expect(doc.spec).toMatchObject({ kind: "sew-mlp", hidden: 8, blocks: 1, timeSteps: 2, classes: 4 });
    expect(model.genome.length).toBe(doc.parameters);
    const meta = await metadataOf(out);
    expect(JSON.parse(meta![TRAIN_METADATA_KEY]!)).toEqual(record);
    // the file holds the best epoch: its validation accuracy is that epoch's
    const pool = await loadClassPool("fashion-mnist", "train", [5, 7, 8, 9]);
    const val = subset(pool.set, splitPerClass(pool.set, { valPerClass: 4, trainPerClass: 16, seed: 3 }).val);
    const best = doc.history[doc.bestEpoch!]!.valAccuracy!;
    expect(new FastSnn(model).accuracy(val.images, val.labels, val.count)).toBe(best);
    for (const h of doc.history) expect(h.valAccuracy!).toBeLessThanOrEqual(best);
  }, 120_000);

  it("resumed after an interruption, writes the uninterrupted run's weights", async () => {
    const ckpt = join(dir, "ckpt");
    const s = { ...base, out: join(dir, "resumed.safetensors"), checkpointDir: ckpt, checkpointEvery: 2 };
    await interrupted(s, 7);
    expect(existsSync(s.out)).toBe(false);
    const notices: string[] = [];
    const resumed = await trainCheckpoint({ ...s, resume: true }, { onNotice: (l) => notices.push(l) });
    expect(notices).toEqual(["resuming at step 6 of 8"]);
    expect(resumed.resumed).toBe(true);
    expect((await loadModel(s.out)).genome).toEqual((await loadModel(out)).genome);
    const { elapsedMs: _a, resumed: _r, out: _o, ...rest } = resumed;
    const { elapsedMs: _b, resumed: _r2, out: _o2, ...first } = doc;
    expect(rest).toEqual(first);
    expect(await metadataOf(s.out)).toEqual(await metadataOf(out));

    const fresh = join(dir, "fresh");
    const none: string[] = [];
    await trainCheckpoint(
      { ...s, out: join(dir, "fresh.safetensors"), checkpointDir: fresh, epochs: 0, resume: true },
      { onNotice: (l) => none.push(l) },
    );
    expect(none).toEqual([`no training state in ${fresh} yet: starting from the beginning`]);
  }, 120_000);

  it("from --init: a new head for another class count, the file's model", async () => {
    const notices: string[] = [];
    const target = join(dir, "target.safetensors");
    const t = await trainCheckpoint(
      { ...base, out: target, init: out, model: undefined, classes: [0, 1, 2], epochs: 1 },
      { onNotice: (l) => notices.push(l) },
    );
    expect(notices).toEqual([`new 3-class head on the 4-class model of ${out}`]);
    expect(t.spec).toEqual({ ...doc.spec, classes: 3 });
    expect(t).toMatchObject({ init: out, trainImages: 48, valImages: 12, steps: 3 });
    expect((await loadModel(target)).spec).toEqual(t.spec);
  }, 120_000);

  it("refuses bad settings with an SnnConfigError naming the setting, before writing anything", async () => {
    const bad = join(dir, "bad.safetensors");
    const refusal = (s: Partial<TrainCheckpointSettings>, name?: (k: string) => string) =>
      trainCheckpoint({ ...base, out: bad, ...s }, {}, name).then(
        () => "resolved",
        (e: unknown) => (e instanceof SnnConfigError ? e.message : `not an SnnConfigError: ${e}`),
      );
    expect(await refusal({ valPerClass: 0 })).toBe("keepBest needs a validation set (valPerClass N)");
    expect(await refusal({ valPerClass: 0 }, flag)).toBe(
      "--keep-best needs a validation set (--val-per-class N)",
    );
    expect(await refusal({ model: { model: "sew-resnet", hidden: 8 } })).toBe(
      "hidden does not apply to model sew-resnet",
    );
    expect(await refusal({ init: out, model: { model: "sew-mlp", tau: 3 } })).toBe(
      "model cannot change the model of init (its file defines it)",
    );
    expect(await refusal({ init: out, given: (k) => k === "tau" }, flag)).toBe(
      "--tau cannot change the model of --init (its file defines it)",
    );
    expect(await refusal({ classes: [5, 7], batchSize: 64 })).toBe(
      "the training set (32 images) is smaller than one batch (64)",
    );
    expect(existsSync(bad)).toBe(false);
  }, 120_000);
});
