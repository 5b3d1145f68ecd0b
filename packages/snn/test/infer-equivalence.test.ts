import { describe, expect, it } from "vitest";
import { FastSnn, ifNeuron, lif, type ModelSpec, sewMlp, sewResNet, TfSnn } from "../src/index.js";
import { fashionSample, randomModel, tfRuntime } from "./helpers.js";

/** Per image: max |Δlogit| / max |logit|; the max over images. */
function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>, classes: number): number {
  let worst = 0;
  for (let i = 0; i < a.length; i += classes) {
    let d = 0;
    let m = 0;
    for (let c = 0; c < classes; c++) {
      d = Math.max(d, Math.abs(a[i + c] - b[i + c]));
      m = Math.max(m, Math.abs(b[i + c]));
    }
    worst = Math.max(worst, d / Math.max(m, 1e-12));
  }
  return worst;
}

const cases: [string, ModelSpec, number, number?][] = [
  ["sew-mlp H=128 K=2 CADE LIF ADD", sewMlp(), 400],
  ["sew-mlp AND, spikingjelly LIF", sewMlp({ hidden: 64, connect: "AND", neuron: lif() }), 300, 2.5],
  [
    "sew-mlp IAND, soft-reset IF",
    sewMlp({ hidden: 64, connect: "IAND", neuron: ifNeuron({ vReset: null }) }),
    300,
  ],
  ["sew-mlp K=0, T=2", sewMlp({ hidden: 32, blocks: 0, timeSteps: 2 }), 200],
  ["sew-resnet ADD", sewResNet(), 120],
  [
    "sew-resnet IAND, soft-reset LIF with decay_input",
    sewResNet({ connect: "IAND", neuron: lif({ vReset: null }) }),
    80,
    2.5,
  ],
];

describe("fast inference matches the tfjs forward", () => {
  for (const [name0, spec, n, drive] of cases) {
    for (const engine of spec.kind === "sew-mlp" ? (["float64", "simd"] as const) : (["float64"] as const)) {
      const name = `${name0} (${engine})`;
      it(name, async () => {
        const tf = await tfRuntime("wasm");
        const data = fashionSample(n, 3);
        const model = randomModel(spec, 11, drive);
        const fast = new FastSnn(model, engine).logits(data.images, n);
        expect(new FastSnn(model, engine).engine).toBe(engine);
        const net = new TfSnn(tf, model);
        const ref = tf.tidy(() =>
          net
            .forward(tf.tensor2d(data.images, [n, 784]), false)
            .dataSync()
            .slice(),
        );
        net.dispose();
        const rel = maxRelative(fast, ref, spec.classes);
        console.log(`${name}: max relative logit difference ${rel.toExponential(2)}`);
        expect(rel).toBeLessThan(1e-5);
        // the comparison means something only if spikes reach the head: logits must differ between images
        const first = Array.from(ref.subarray(0, spec.classes));
        const varied = Array.from({ length: n }, (_, i) => i).some((i) =>
          first.some((v, c) => Math.abs(ref[i * spec.classes + c] - v) > 1e-3),
        );
        expect(varied).toBe(true);
        const pf = new FastSnn(model, engine).predict(data.images, n);
        const pr = Array.from({ length: n }, (_, i) => {
          let b = 0;
          for (let c = 1; c < spec.classes; c++)
            if (ref[i * spec.classes + c] > ref[i * spec.classes + b]) b = c;
          return b;
        });
        expect(Array.from(pf)).toEqual(pr);
      });
    }
  }
});

describe("FastSnn.trace", () => {
  it("records every neuron layer's spikes and H_t, consistent with the logits and the neuron equation", async () => {
    const { neuronTrace, CADE_LIF } = await import("../src/index.js");
    const spec = sewMlp({ hidden: 16, blocks: 1 });
    const model = randomModel(spec, 3, 1.5);
    const img = fashionSample(1, 2).images;
    const fast = new FastSnn(model);
    const tr = fast.trace(img);
    expect(tr.logits).toEqual(Array.from(fast.logits(img, 1)));
    expect(tr.layers.map((l) => l.layer)).toEqual(["stem.sn", "blocks.0.sn1", "blocks.0.sn2"]);
    // the stem gets the same current at every step: its neuron 0 follows the reference dynamics for that current
    const stem = tr.layers[0];
    const x0 = stem.h[0]; // H_1 = X (V_0 = 0 for CADE's LIF)
    const ref = neuronTrace(CADE_LIF, new Array(4).fill(x0));
    for (let t = 0; t < 4; t++) {
      expect(stem.h[t * 16]).toBeCloseTo(ref.h[t], 10);
      expect(stem.spikes[t].includes(0)).toBe(ref.s[t] === 1);
    }
  });
});
