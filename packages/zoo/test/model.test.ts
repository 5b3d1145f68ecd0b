import { IMAGE_SIZE, type ImageSet } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import { evaluateTasks } from "../src/evaluate.js";
import {
  backboneKeys,
  backboneSize,
  flattenBackbone,
  initBackbone,
  initHead,
  type MlpArch,
  unflattenBackbone,
} from "../src/model.js";
import { fisherDiagonal, layerGrams } from "../src/stats.js";
import { getTf } from "../src/tf.js";
import { forward, train } from "../src/train.js";

const tiny: MlpArch = { input: IMAGE_SIZE, hidden: [6, 5] };

function randomSet(rng: Rng, n: number, classes: number): ImageSet {
  const images = rng.fillUniform(new Float32Array(n * IMAGE_SIZE)) as Float32Array;
  const labels = new Uint8Array(n).map(() => rng.int(classes));
  return { images, labels, count: n };
}

describe("zoo model", () => {
  it("flattens the backbone in code-point-sorted key order and back", () => {
    const p = initBackbone(tiny, new Rng(1));
    expect(backboneKeys(tiny)).toEqual([
      "backbone.fc1.bias",
      "backbone.fc1.weight",
      "backbone.fc2.bias",
      "backbone.fc2.weight",
    ]);
    const flat = flattenBackbone(tiny, p);
    expect(flat.length).toBe(backboneSize(tiny));
    expect(flat.length).toBe(784 * 6 + 6 + 6 * 5 + 5);
    // fc1.bias (6 zeros) comes first, then fc1.weight.
    expect(flat.subarray(6, 12)).toEqual(p.get("backbone.fc1.weight")!.data.subarray(0, 6));
    const back = unflattenBackbone(tiny, flat);
    for (const k of backboneKeys(tiny)) {
      expect(back.get(k)!.data).toEqual(p.get(k)!.data);
      expect(back.get(k)!.shape).toEqual(p.get(k)!.shape);
    }
    expect(() => unflattenBackbone(tiny, new Float32Array(3))).toThrow(/needs/);
  });

  it("diagonal Fisher equals the mean of squared per-sample gradients from tf.grads", async () => {
    const tf = await getTf();
    const rng = new Rng(5);
    const bb = initBackbone(tiny, rng);
    const head = initHead(tiny, 3, rng);
    const data = randomSet(rng, 7, 3);
    const fisher = await fisherDiagonal(tiny, bb, head, data);
    const names = backboneKeys(tiny);
    const ref = new Map(names.map((k) => [k, new Float64Array(bb.get(k)!.data.length)]));
    for (let s = 0; s < data.count; s++) {
      const x = tf.tensor2d(data.images.subarray(s * IMAGE_SIZE, (s + 1) * IMAGE_SIZE), [1, IMAGE_SIZE]);
      const y = tf.oneHot(tf.tensor1d([data.labels[s]!], "int32"), 3);
      const vars = names.map((k) => tf.tensor(bb.get(k)!.data, [...bb.get(k)!.shape]));
      const byName = new Map(names.map((k, i) => [k, vars[i]!]));
      const g = tf.grads((...ts: ReturnType<typeof tf.tensor>[]) => {
        const m = new Map(names.map((k, i) => [k, ts[i]!]));
        let h = x as ReturnType<typeof tf.tensor>;
        for (const l of ["backbone.fc1", "backbone.fc2"])
          h = tf.relu(tf.add(tf.matMul(h, m.get(`${l}.weight`)!, false, true), m.get(`${l}.bias`)!));
        const logits = tf.add(
          tf.matMul(h, tf.tensor2d(head.weight.data, [3, 5]), false, true),
          tf.tensor1d(head.bias.data),
        );
        return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits))));
      })(names.map((k) => byName.get(k)!));
      g.forEach((gt, i) => {
        const d = gt.dataSync();
        const acc = ref.get(names[i]!)!;
        for (let j = 0; j < acc.length; j++) acc[j]! += d[j]! ** 2;
      });
    }
    for (const k of names) {
      const got = fisher.get(k)!.data;
      const want = ref.get(k)!;
      let maxRef = 0;
      for (const v of want) maxRef = Math.max(maxRef, v / data.count);
      expect(maxRef).toBeGreaterThan(0);
      for (let j = 0; j < got.length; j++)
        expect(Math.abs(got[j]! - want[j]! / data.count)).toBeLessThanOrEqual(1e-5 * maxRef + 1e-9);
    }
  });

  it("Gram matrices equal XᵀX / n of each layer's inputs", async () => {
    const rng = new Rng(9);
    const bb = initBackbone(tiny, rng);
    const data = randomSet(rng, 5, 2);
    const grams = await layerGrams(tiny, bb, data);
    const g1 = grams.get("backbone.fc1.weight")!;
    expect(g1.shape).toEqual([784, 784]);
    for (const [i, j] of [
      [0, 0],
      [3, 700],
      [783, 2],
    ] as const) {
      let s = 0;
      for (let n = 0; n < 5; n++) s += data.images[n * IMAGE_SIZE + i]! * data.images[n * IMAGE_SIZE + j]!;
      expect(g1.data[i * 784 + j]).toBeCloseTo(s / 5, 4);
    }
    // Layer 2's inputs are the ReLU features of layer 1.
    const w = bb.get("backbone.fc1.weight")!.data;
    const h = new Float64Array(5 * 6);
    for (let n = 0; n < 5; n++)
      for (let o = 0; o < 6; o++) {
        let z = 0;
        for (let i = 0; i < 784; i++) z += w[o * 784 + i]! * data.images[n * IMAGE_SIZE + i]!;
        h[n * 6 + o] = Math.max(0, z);
      }
    const g2 = grams.get("backbone.fc2.weight")!.data;
    for (let a = 0; a < 6; a++)
      for (let b = 0; b < 6; b++) {
        let s = 0;
        for (let n = 0; n < 5; n++) s += h[n * 6 + a]! * h[n * 6 + b]!;
        expect(g2[a * 6 + b]).toBeCloseTo(s / 5, 3);
      }
  });

  it("training is reproducible for a seed, lowers the loss and learns a separable task", async () => {
    const rng = new Rng(11);
    const bb = initBackbone(tiny, rng);
    const head = initHead(tiny, 2, rng);
    // Class = whether the first 392 pixels are brighter than the rest.
    const n = 128;
    const images = new Float32Array(n * IMAGE_SIZE);
    const labels = new Uint8Array(n);
    for (let s = 0; s < n; s++) {
      labels[s] = s % 2;
      for (let i = 0; i < IMAGE_SIZE; i++)
        images[s * IMAGE_SIZE + i] = rng.uniform() * 0.5 + (i < 392 === (s % 2 === 0) ? 0.5 : 0);
    }
    const data = { images, labels, count: n };
    const opts = { epochs: 4, batchSize: 16, lr: 5e-3, seed: "t", headOnlyEpochs: 1 };
    const a = await train(tiny, bb, [{ head, numClasses: 2, data }], opts);
    const b = await train(tiny, bb, [{ head, numClasses: 2, data }], opts);
    expect(a.backbone.get("backbone.fc1.weight")!.data).toEqual(b.backbone.get("backbone.fc1.weight")!.data);
    expect(a.heads[0]!.weight.data).toEqual(b.heads[0]!.weight.data);
    // The head-only epoch leaves the backbone untouched only if it is the sole epoch: check via a 1-epoch run.
    const probe = await train(tiny, bb, [{ head, numClasses: 2, data }], { ...opts, epochs: 1 });
    expect(probe.backbone.get("backbone.fc1.weight")!.data).toEqual(bb.get("backbone.fc1.weight")!.data);
    expect(probe.heads[0]!.weight.data).not.toEqual(head.weight.data);
    expect(a.epochLoss[3]!).toBeLessThan(a.epochLoss[0]!);
    const [acc] = await evaluateTasks(tiny, a.backbone, [{ head: a.heads[0]!, data }]);
    expect(acc).toBeGreaterThan(0.9);
    // Inputs are never modified.
    expect(bb.get("backbone.fc1.weight")!.data).toEqual(
      initBackbone(tiny, new Rng(11)).get("backbone.fc1.weight")!.data,
    );
  });

  it("freezeHead keeps the probed head fixed while the backbone trains; SGD fine-tuning also learns", async () => {
    const rng = new Rng(21);
    const bb = initBackbone(tiny, rng);
    const head = initHead(tiny, 2, rng);
    const data = randomSet(rng, 64, 2);
    for (let s = 0; s < 64; s++)
      for (let i = 0; i < 100; i++) data.images[s * IMAGE_SIZE + i] = data.labels[s]!;
    const opts = { epochs: 3, batchSize: 16, lr: 0.01, seed: "f", headOnlyEpochs: 1, headLr: 1e-2 };
    const probeOnly = await train(tiny, bb, [{ head, numClasses: 2, data }], { ...opts, epochs: 1 });
    const frozen = await train(tiny, bb, [{ head, numClasses: 2, data }], {
      ...opts,
      freezeHead: true,
      optimizer: "sgd",
    });
    expect(frozen.heads[0]!.weight.data).toEqual(probeOnly.heads[0]!.weight.data);
    expect(frozen.backbone.get("backbone.fc1.weight")!.data).not.toEqual(bb.get("backbone.fc1.weight")!.data);
    const [acc] = await evaluateTasks(tiny, frozen.backbone, [{ head: frozen.heads[0]!, data }]);
    expect(acc).toBeGreaterThan(0.9);
  });

  it("evaluation with pre-transposed weights matches the transposeB product and a float64 reference", async () => {
    const rng = new Rng(31);
    const bb = initBackbone(tiny, rng);
    const head = initHead(tiny, 3, rng);
    const data = randomSet(rng, 2100, 3); // crosses the 2048-sample chunk boundary
    const [acc] = await evaluateTasks(tiny, bb, [{ head, data }]);
    // The previous formulation: x·Wᵀ via matMul(..., transposeB).
    const tf = await getTf();
    const viaTransposeB = tf.tidy(() => {
      const layers = [0, 1].map((i) => {
        const w = bb.get(`backbone.fc${i + 1}.weight`)!;
        return {
          w: tf.tensor2d(w.data, w.shape as [number, number]),
          b: tf.tensor1d(bb.get(`backbone.fc${i + 1}.bias`)!.data),
        };
      });
      const x = tf.tensor2d(data.images, [data.count, IMAGE_SIZE]);
      const w = tf.tensor2d(head.weight.data, head.weight.shape as [number, number]);
      return tf.argMax(
        tf.add(tf.matMul(forward(tf, layers, x), w, false, true), tf.tensor1d(head.bias.data)),
        1,
      );
    });
    const pred = viaTransposeB.dataSync();
    viaTransposeB.dispose();
    let correct = 0;
    for (let i = 0; i < data.count; i++) if (pred[i] === data.labels[i]) correct++;
    expect(acc).toBe(correct / data.count);
    // Independent float64 forward pass (PyTorch layout [out, in]); near-ties may flip at most a couple of samples.
    const dense = (
      h: Float64Array,
      name: string,
      relu: boolean,
      wp = bb.get(`${name}.weight`)!,
      bp = bb.get(`${name}.bias`)!,
    ) => {
      const [out, inn] = wp.shape as [number, number];
      const r = new Float64Array(out);
      for (let o = 0; o < out; o++) {
        let z = bp.data[o]!;
        for (let i = 0; i < inn; i++) z += wp.data[o * inn + i]! * h[i]!;
        r[o] = relu ? Math.max(0, z) : z;
      }
      return r;
    };
    let refCorrect = 0;
    for (let s = 0; s < data.count; s++) {
      let h = Float64Array.from(data.images.subarray(s * IMAGE_SIZE, (s + 1) * IMAGE_SIZE));
      h = dense(h, "backbone.fc1", true);
      h = dense(h, "backbone.fc2", true);
      const logits = dense(h, "head", false, head.weight, head.bias);
      let best = 0;
      for (let c = 1; c < logits.length; c++) if (logits[c]! > logits[best]!) best = c;
      if (best === data.labels[s]) refCorrect++;
    }
    expect(Math.abs(acc! - refCorrect / data.count)).toBeLessThanOrEqual(2 / data.count);
  });

  it("getTf goes through tensor-core's initTf: wasm by default, with gradients registered", async () => {
    const tf = await getTf();
    expect(tf.getBackend()).toBe(process.env.X_TF_BACKEND?.trim() || "wasm");
    const g = tf.grad((x) => tf.sum(tf.relu(x)));
    expect(Array.from(g(tf.tensor1d([-1, 2])).dataSync())).toEqual([0, 1]);
  });
});
