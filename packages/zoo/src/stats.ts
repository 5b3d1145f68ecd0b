/**
 * Data statistics for the data-dependent merges, computed on each expert with its own task data:
 * - diagonal Fisher (Fisher merging): the mean over samples of the squared per-sample gradient of the
 *   log-likelihood of the true label (the "empirical" Fisher, as FusionBench computes it);
 * - Gram matrices XᵀX / n of each linear layer's inputs (RegMean).
 * For a dense layer the per-sample weight gradient is the outer product δ xᵀ, so Σ_s (δ_s x_sᵀ)² = (δ²)ᵀ(x²):
 * squared per-sample gradients of a whole batch come from one matmul, without per-sample backward passes.
 */
import { IMAGE_SIZE, type ImageSet } from "@x/datasets";
import { type Head, layerShapes, type MlpArch, type Params } from "./model.js";
import { getTf } from "./tf.js";

const CHUNK = 512;

/** `head: true` adds the head's entries under HEAD_STATS_WEIGHT / HEAD_STATS_BIAS (the zoo leaves heads unmerged). */
export interface StatsOptions {
  readonly head?: boolean;
}
export const HEAD_STATS_WEIGHT = "head.weight";
export const HEAD_STATS_BIAS = "head.bias";

/** Diagonal Fisher per backbone parameter (same names and layout as the backbone). */
export async function fisherDiagonal(
  arch: MlpArch,
  backbone: Params,
  head: Head,
  data: ImageSet,
  options: StatsOptions = {},
): Promise<Params> {
  const tf = await getTf();
  const layers = layerShapes(arch);
  const acc = layers.map((l) => ({ w: new Float64Array(l.outDim * l.inDim), b: new Float64Array(l.outDim) }));
  const C = head.bias.data.length;
  const F = head.weight.data.length / C;
  const headAcc = { w: new Float64Array(C * F), b: new Float64Array(C) };
  for (let start = 0; start < data.count; start += CHUNK) {
    const n = Math.min(CHUNK, data.count - start);
    const parts = tf.tidy(() => {
      const x = tf.tensor2d(data.images.subarray(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE), [
        n,
        IMAGE_SIZE,
      ]);
      const ws = layers.map((l) => tf.tensor2d(backbone.get(`${l.name}.weight`)!.data, [l.outDim, l.inDim]));
      const bs = layers.map((l) => tf.tensor1d(backbone.get(`${l.name}.bias`)!.data));
      // Forward, keeping each layer's input and pre-activation.
      const inputs = [];
      const pre = [];
      let h = x as ReturnType<typeof tf.tensor2d>;
      for (let i = 0; i < layers.length; i++) {
        inputs.push(h);
        const z = tf.add(tf.matMul(h, ws[i]!, false, true), bs[i]!) as typeof h;
        pre.push(z);
        h = tf.relu(z) as typeof h;
      }
      const hw = tf.tensor2d(head.weight.data, [C, h.shape[1]]);
      const logits = tf.add(tf.matMul(h, hw, false, true), tf.tensor1d(head.bias.data));
      const y = tf.oneHot(tf.tensor1d(data.labels.subarray(start, start + n), "int32"), C);
      // d(-log p_y)/d logits = softmax - onehot, per sample.
      const dLogits = tf.sub(tf.softmax(logits), y) as typeof h;
      let delta = tf.matMul(dLogits, hw) as typeof h;
      const out: { w: ReturnType<typeof tf.tensor2d>; b: ReturnType<typeof tf.tensor1d> }[] = [];
      if (options.head) {
        const d2 = tf.square(dLogits);
        out[layers.length] = { w: tf.matMul(d2, tf.square(h), true, false), b: tf.sum(d2, 0) };
      }
      for (let i = layers.length - 1; i >= 0; i--) {
        const dz = tf.mul(delta, tf.step(pre[i]!)) as typeof h;
        const dz2 = tf.square(dz);
        out[i] = { w: tf.matMul(dz2, tf.square(inputs[i]!), true, false), b: tf.sum(dz2, 0) };
        if (i > 0) delta = tf.matMul(dz, ws[i]!) as typeof h;
      }
      return out;
    });
    parts.forEach((p, i) => {
      const into = i < layers.length ? acc[i]! : headAcc;
      addInto(into.w, p.w.dataSync() as Float32Array);
      addInto(into.b, p.b.dataSync() as Float32Array);
      p.w.dispose();
      p.b.dispose();
    });
  }
  const fisher: Params = new Map();
  layers.forEach((l, i) => {
    fisher.set(`${l.name}.weight`, { shape: [l.outDim, l.inDim], data: meanOf(acc[i]!.w, data.count) });
    fisher.set(`${l.name}.bias`, { shape: [l.outDim], data: meanOf(acc[i]!.b, data.count) });
  });
  if (options.head) {
    fisher.set(HEAD_STATS_WEIGHT, { shape: [C, F], data: meanOf(headAcc.w, data.count) });
    fisher.set(HEAD_STATS_BIAS, { shape: [C], data: meanOf(headAcc.b, data.count) });
  }
  return fisher;
}

/** Relative ridge added to each Gram diagonal before RegMean (see `gramWithRidge`). */
export const GRAM_RIDGE = 1e-6;

/**
 * G + ε·I with ε = GRAM_RIDGE · mean diagonal entry (GRAM_RIDGE for an all-zero G), as a copy. An input that
 * is zero in every sample of every merged model (MNIST borders, a ReLU unit no data activates) leaves a zero
 * row and column in every Gram matrix, so Σ G̃ is singular and RegMean's solve fails. With the same relative
 * ridge in every model, such an input's weight column becomes the plain mean of the models' columns (it
 * multiplies zero inputs), and the rest of the solution moves by O(ε).
 */
export function gramWithRidge(g: Float32Array, dim: number): Float32Array {
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += g[i * dim + i]!;
  const eps = (GRAM_RIDGE * trace) / dim || GRAM_RIDGE;
  const out = g.slice();
  for (let i = 0; i < dim; i++) out[i * dim + i]! += eps;
  return out;
}

/** Gram matrix XᵀX / n of the inputs of each linear layer, keyed by the layer's weight name, [in, in]. */
export async function layerGrams(
  arch: MlpArch,
  backbone: Params,
  data: ImageSet,
  options: StatsOptions = {},
): Promise<Params> {
  const tf = await getTf();
  const layers = layerShapes(arch);
  const F = arch.hidden[arch.hidden.length - 1]!;
  const acc = layers.map((l) => new Float64Array(l.inDim * l.inDim));
  if (options.head) acc.push(new Float64Array(F * F));
  for (let start = 0; start < data.count; start += CHUNK) {
    const n = Math.min(CHUNK, data.count - start);
    const grams = tf.tidy(() => {
      let h = tf.tensor2d(data.images.subarray(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE), [
        n,
        IMAGE_SIZE,
      ]);
      const out = [];
      for (const l of layers) {
        out.push(tf.matMul(h, h, true, false));
        const w = tf.tensor2d(backbone.get(`${l.name}.weight`)!.data, [l.outDim, l.inDim]);
        h = tf.relu(
          tf.add(tf.matMul(h, w, false, true), tf.tensor1d(backbone.get(`${l.name}.bias`)!.data)),
        ) as typeof h;
      }
      if (options.head) out.push(tf.matMul(h, h, true, false));
      return out;
    });
    grams.forEach((g, i) => {
      addInto(acc[i]!, g.dataSync() as Float32Array);
      g.dispose();
    });
  }
  const out: Params = new Map();
  layers.forEach((l, i) => {
    out.set(`${l.name}.weight`, { shape: [l.inDim, l.inDim], data: meanOf(acc[i]!, data.count) });
  });
  if (options.head)
    out.set(HEAD_STATS_WEIGHT, { shape: [F, F], data: meanOf(acc[layers.length]!, data.count) });
  return out;
}

function addInto(acc: Float64Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
}

function meanOf(acc: Float64Array, n: number): Float32Array {
  const out = new Float32Array(acc.length);
  const inv = n > 0 ? 1 / n : 0;
  for (let i = 0; i < acc.length; i++) out[i] = acc[i]! * inv;
  return out;
}
