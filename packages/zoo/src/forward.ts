// The MLP's forward pass on typed arrays (no TensorFlow.js): ReLU hidden layers, then a task head,
// top-1 accuracy. It runs in a browser (`@x/zoo/browser`, the demo's live panel); `evaluateTasks`
// (TensorFlow.js) is the Node evaluation it is tested against.

import { backboneLayout, layerShapes, type MlpArch } from "./layout.js";

/** A linear head as flat arrays: `weight` [classes, features] row-major, `bias` [classes]. */
export interface FlatHead {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly numClasses: number;
}

/** A labelled image set as flat arrays: `images` [count, arch.input] row-major, `labels` [count]. */
export interface FlatImages {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/**
 * y[s, j] = b[j] + Σ_i x[s, i]·W[j, i] for `count` rows (sums in double, stored as float32), ReLU when
 * asked. W is transposed once so the inner loop runs over contiguous outputs, and zero inputs (most
 * pixels of an MNIST digit, every unit a ReLU switched off) are skipped.
 */
function linear(
  x: Float32Array,
  count: number,
  inDim: number,
  w: Float32Array,
  b: Float32Array,
  outDim: number,
  relu: boolean,
): Float32Array {
  const wT = new Float32Array(inDim * outDim);
  for (let j = 0; j < outDim; j++) for (let i = 0; i < inDim; i++) wT[i * outDim + j] = w[j * inDim + i]!;
  const y = new Float32Array(count * outDim);
  const acc = new Float64Array(outDim);
  for (let s = 0; s < count; s++) {
    const xo = s * inDim;
    for (let j = 0; j < outDim; j++) acc[j] = 0;
    for (let i = 0; i < inDim; i++) {
      const xi = x[xo + i]!;
      if (xi === 0) continue;
      const wo = i * outDim;
      for (let j = 0; j < outDim; j++) acc[j] += xi * wT[wo + j]!;
    }
    const yo = s * outDim;
    for (let j = 0; j < outDim; j++) {
      const v = acc[j]! + b[j]!;
      y[yo + j] = relu && v < 0 ? 0 : v;
    }
  }
  return y;
}

/** Backbone features relu(...relu(x·W1ᵀ + b1)...) of `count` images, from a flat backbone. */
export function mlpFeatures(
  arch: MlpArch,
  backbone: Float32Array,
  images: Float32Array,
  count: number,
): Float32Array {
  const at = new Map(backboneLayout(arch).map((t) => [t.name, t.offset]));
  let h = images;
  for (const l of layerShapes(arch)) {
    const w = at.get(`${l.name}.weight`)!;
    const b = at.get(`${l.name}.bias`)!;
    h = linear(
      h,
      count,
      l.inDim,
      backbone.subarray(w, w + l.outDim * l.inDim),
      backbone.subarray(b, b + l.outDim),
      l.outDim,
      true,
    );
  }
  return h;
}

/**
 * Top-1 accuracy (in [0, 1]; NaN for an empty set) of a flat backbone (the `flattenBackbone` order) with
 * `head` on `set`. Ties go to the lowest class, as `argMax` does.
 */
export function mlpAccuracy(arch: MlpArch, backbone: Float32Array, head: FlatHead, set: FlatImages): number {
  if (set.count === 0) return Number.NaN;
  const features = arch.hidden[arch.hidden.length - 1]!;
  const h = mlpFeatures(arch, backbone, set.images, set.count);
  const logits = linear(h, set.count, features, head.weight, head.bias, head.numClasses, false);
  let correct = 0;
  for (let s = 0; s < set.count; s++) {
    let best = 0;
    for (let c = 1; c < head.numClasses; c++)
      if (logits[s * head.numClasses + c]! > logits[s * head.numClasses + best]!) best = c;
    if (best === set.labels[s]) correct++;
  }
  return correct / set.count;
}
