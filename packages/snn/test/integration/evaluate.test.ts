import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, describe, expect, it } from "vitest";
import {
  evaluateCheckpoint,
  initModel,
  loadBuiltinSplit,
  saveModel,
  sewMlp,
  trainModel,
} from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "snn-eval-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("real data", () => {
  it("built-in splits: Fashion-MNIST 60,000 / 10,000; MNIST 80 % / 20 % of each class", () => {
    expect(loadBuiltinSplit("fashion-mnist", "train").count).toBe(60000);
    expect(loadBuiltinSplit("fashion-mnist", "test").count).toBe(10000);
    const m = loadBuiltinSplit("mnist", "train").count + loadBuiltinSplit("mnist", "test").count;
    expect(m).toBe(10000);
    expect(loadBuiltinSplit("fashion-mnist", "test", [5, 7]).count).toBe(2000);
  });

  it("a trained SEW-MLP evaluates on the Fashion-MNIST test split with a stable predictions checksum", async () => {
    const train = loadBuiltinSplit("fashion-mnist", "train");
    const pick = new Rng(1).sampleWithoutReplacement(train.count, 3000);
    const { subset } = await import("@x/datasets");
    const r = await trainModel({
      model: initModel(sewMlp({ hidden: 64, blocks: 1 }), new Rng(1)),
      train: subset(train, Array.from(pick)),
      epochs: 1,
      seed: 1,
      backend: "wasm",
    });
    const file = join(dir, "m.safetensors");
    await saveModel(r.model, file);
    const a = await evaluateCheckpoint(file, { data: "fashion-mnist", split: "test" });
    const b = await evaluateCheckpoint(file, { data: "fashion-mnist", split: "test", spec: r.model.spec });
    expect(a.count).toBe(10000);
    expect(a.accuracy).toBeGreaterThan(0.6);
    expect(b.predictionsSha256).toBe(a.predictionsSha256);
    const c = await evaluateCheckpoint(file, { data: "mnist", split: "test" });
    expect(c.count).toBe(loadBuiltinSplit("mnist", "test").count);
  }, 300_000);
});
