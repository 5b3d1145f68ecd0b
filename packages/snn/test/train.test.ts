import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  FastSnn,
  initModel,
  makeBatch,
  SnnConfigError,
  sampleBeta,
  sewMlp,
  sewResNet,
  TfSnn,
  trainModel,
} from "../src/index.js";
import { fashionSample, tfRuntime } from "./helpers.js";

describe("surrogate-gradient training", () => {
  const data = fashionSample(320, 5);
  it("lowers the loss, is deterministic for a seed, and never modifies the initial model", async () => {
    const init = initModel(sewMlp({ hidden: 32, blocks: 1 }), new Rng(1));
    const before = init.genome.slice();
    const run = () =>
      trainModel({
        model: init,
        train: data,
        epochs: 3,
        batchSize: 32,
        seed: 4,
        backend: "wasm",
        optimizer: { kind: "adam", lr: 3e-3 },
      });
    const a = await run();
    const b = await run();
    expect(init.genome).toEqual(before);
    expect(a.model.genome).toEqual(b.model.genome);
    expect(a.history[2].loss).toBeLessThan(a.history[0].loss);
    expect(new FastSnn(a.model).accuracy(data.images, data.labels)).toBeGreaterThan(0.4);
    // BN running statistics moved away from their initial values
    expect(Array.from(a.model.tensor("bn1.running_var")).some((v) => v !== 1)).toBe(true);
  });

  it("trains the conv SEW ResNet (conv filter gradients through tensor-core's kernel)", async () => {
    const init = initModel(
      sewResNet({ stemChannels: 4, stages: [{ channels: 4, blocks: 1, stride: 2 }] }),
      new Rng(1),
    );
    const r = await trainModel({
      model: init,
      train: fashionSample(64, 6),
      epochs: 1,
      batchSize: 16,
      seed: 1,
      backend: "wasm",
    });
    expect(r.model.tensor("layer1.0.conv1.weight")).not.toEqual(init.tensor("layer1.0.conv1.weight"));
    expect(Number.isFinite(r.history[0].loss)).toBe(true);
  });

  it("BN in training mode normalises over the T·B batch", async () => {
    const tf = await tfRuntime();
    const m = initModel(sewMlp({ hidden: 8, blocks: 1 }), new Rng(2));
    const net = new TfSnn(tf, m);
    const stats = new Map();
    tf.tidy(() => net.forward(tf.tensor2d(data.images.subarray(0, 10 * 784), [10, 784]), true, stats));
    // the stem BN sees T identical copies of B = 10 currents; the block BNs see T·B = 40 rows
    expect(stats.get("bn1").count).toBe(40);
    expect(stats.get("blocks.0.bn1").count).toBe(40);
    for (const s of stats.values()) tf.dispose([s.mean, s.variance]);
    net.dispose();
  });

  it("rejects bad options with typed errors", async () => {
    const init = initModel(sewMlp({ hidden: 8, classes: 3 }), new Rng(1));
    await expect(trainModel({ model: init, train: data, epochs: 1, seed: 1 })).rejects.toThrow(
      /outside the model's 3 classes/,
    );
    await expect(trainModel({ model: init, train: data, epochs: -1, seed: 1 })).rejects.toThrow(
      SnnConfigError,
    );
    await expect(
      trainModel({ model: init, train: data, epochs: 1, seed: 1, keepBest: true }),
    ).rejects.toThrow(/keepBest/);
  });
});

describe("augmentation", () => {
  it("label smoothing and mixup keep each target row a distribution; Beta(α, α) has mean 1/2", () => {
    const data = fashionSample(8, 1);
    const x = new Float32Array(8 * 784);
    const y = new Float32Array(8 * 10);
    makeBatch(
      new Rng(1),
      data.images,
      data.labels,
      [0, 1, 2, 3, 4, 5, 6, 7],
      10,
      { labelSmoothing: 0.1, mixupAlpha: 0.2, erasing: 1, shift: 2 },
      x,
      y,
    );
    for (let k = 0; k < 8; k++)
      expect(y.subarray(k * 10, k * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const rng = new Rng(3);
    let s = 0;
    for (let i = 0; i < 4000; i++) s += sampleBeta(rng, 0.3, 0.3);
    expect(s / 4000).toBeCloseTo(0.5, 1);
  });
});
