/**
 * Data and models of the Evolver experiment (docs/evolver.md) at small scale: a ReLU MLP 784→256→128→10
 * pretrained briefly on clean Fashion-MNIST (deliberately under-trained), five domain experts fine-tuned
 * from it (shared head initialisation), per-domain dev and test sets, and five out-of-domain test sets.
 * A genome is the whole model as one flat vector: backbone (sorted keys) | head weight | head bias.
 */

import { IMAGE_SIZE, type ImageSet, loadFashion } from "@x/datasets";
import type { GenomeTensor } from "@x/merging/evolve";
import { Rng } from "@x/tensor-core";
import {
  backboneKeys,
  backboneSize,
  DEFAULT_ARCH,
  flattenBackbone,
  getTf,
  type Head,
  initBackbone,
  initHead,
  layerShapes,
  type MlpArch,
  type Tf,
  train,
  unflattenBackbone,
} from "@x/zoo";
import { applyDomain, IN_DOMAINS, OOD_DOMAINS } from "./domains.js";

export interface ExperimentSizes {
  readonly pretrain: number;
  readonly train: number;
  readonly dev: number;
  readonly test: number;
  readonly oodTest: number;
  readonly pretrainEpochs: number;
  readonly expertEpochs: number;
}

/** The design's sizes: 3k pretraining images, per domain 1k train / 300 dev / 1k test. */
export const FULL_SIZES: ExperimentSizes = {
  pretrain: 3000,
  train: 1000,
  dev: 300,
  test: 1000,
  oodTest: 1000,
  pretrainEpochs: 2,
  expertEpochs: 3,
};

/** A tiny configuration for tests and CI smoke runs. */
export const QUICK_SIZES: ExperimentSizes = {
  pretrain: 300,
  train: 100,
  dev: 40,
  test: 60,
  oodTest: 60,
  pretrainEpochs: 1,
  expertEpochs: 2,
};

const CLASSES = 10;

export interface Setup {
  readonly arch: MlpArch;
  readonly dim: number;
  readonly base: Float32Array;
  readonly experts: Float32Array[];
  /** Concatenation of the in-domain dev sets (the evolution set). */
  readonly dev: ImageSet;
  readonly devPerDomain: ImageSet[];
  /** Each expert's training data (for its Fisher / Gram statistics and the multi-task bound). */
  readonly trainPerDomain: ImageSet[];
  readonly testPerDomain: ImageSet[];
  readonly oodTest: ImageSet[];
  readonly pretrainLoss: number[];
  readonly expertLoss: number[][];
}

export function genomeSize(arch: MlpArch): number {
  const f = arch.hidden[arch.hidden.length - 1];
  return backboneSize(arch) + CLASSES * f + CLASSES;
}

/**
 * The genome as named tensors for the @x/merging registry. The head tensors are numbered so that the
 * code-point-sorted order the whole-model methods (PCB-repo TIES, PCB) flatten in equals the genome order.
 */
export function genomeLayout(arch: MlpArch): GenomeTensor[] {
  const shapes = new Map<string, number[]>();
  for (const l of layerShapes(arch)) {
    shapes.set(`${l.name}.weight`, [l.outDim, l.inDim]);
    shapes.set(`${l.name}.bias`, [l.outDim]);
  }
  const f = arch.hidden[arch.hidden.length - 1];
  const out: GenomeTensor[] = [];
  let at = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    out.push({ name, shape, offset: at, size });
    at += size;
  };
  for (const k of backboneKeys(arch)) add(k, shapes.get(k)!);
  add(HEAD_WEIGHT, [CLASSES, f]);
  add(HEAD_BIAS, [CLASSES]);
  return out;
}
export const HEAD_WEIGHT = "head.0.weight";
export const HEAD_BIAS = "head.1.bias";

export function toGenome(arch: MlpArch, backbone: ReturnType<typeof initBackbone>, head: Head): Float32Array {
  const g = new Float32Array(genomeSize(arch));
  const b = backboneSize(arch);
  flattenBackbone(arch, backbone, g.subarray(0, b));
  g.set(head.weight.data, b);
  g.set(head.bias.data, b + head.weight.data.length);
  return g;
}

export function fromGenome(
  arch: MlpArch,
  g: Float32Array,
): { backbone: ReturnType<typeof initBackbone>; head: Head } {
  const b = backboneSize(arch);
  const f = arch.hidden[arch.hidden.length - 1];
  return {
    backbone: unflattenBackbone(arch, g.subarray(0, b)),
    head: {
      weight: { shape: [CLASSES, f], data: g.subarray(b, b + CLASSES * f) },
      bias: { shape: [CLASSES], data: g.subarray(b + CLASSES * f, b + CLASSES * f + CLASSES) },
    },
  };
}

/**
 * Top-1 accuracy of genomes on fixed image sets. The sets are uploaded to tfjs once; each call uploads the
 * weights pre-transposed to [in, out], because tfjs-wasm's matMul with transposeB is ~10× slower than the
 * plain product (measured: 1500×784 · 784×256 in 1.6 s vs 0.13 s).
 */
export class Evaluator {
  private readonly inputs: ReturnType<Tf["tensor2d"]>[];
  private readonly transposed: Float32Array[];
  private constructor(
    private readonly tf: Tf,
    private readonly arch: MlpArch,
    private readonly sets: readonly ImageSet[],
  ) {
    this.inputs = sets.map((s) =>
      tf.tensor2d(s.images.subarray(0, s.count * IMAGE_SIZE), [s.count, IMAGE_SIZE]),
    );
    const f = arch.hidden[arch.hidden.length - 1];
    this.transposed = [
      ...layerShapes(arch).map((l) => new Float32Array(l.inDim * l.outDim)),
      new Float32Array(f * CLASSES),
    ];
  }

  static async create(arch: MlpArch, sets: readonly ImageSet[]): Promise<Evaluator> {
    return new Evaluator(await getTf(), arch, sets);
  }

  /** Accuracy on each set, in [0, 1]. */
  accuracy(g: Float32Array): number[] {
    return this.ensembleAccuracy([g]);
  }

  /**
   * Accuracy of the logit ensemble (mean of the members' logits) on each set; one member = the model
   * itself (the mean of one logit matrix is that matrix, so `accuracy` is this with one genome).
   */
  ensembleAccuracy(genomes: readonly Float32Array[]): number[] {
    const { tf } = this;
    return tf.tidy(() => {
      let sum: ReturnType<Tf["tensor2d"]>[] | null = null;
      for (const g of genomes) {
        const logits = this.logits(g);
        sum = sum ? sum.map((s, i) => tf.add(s, logits[i]) as typeof s) : logits;
      }
      return sum!.map((l, s) => {
        const pred = tf.argMax(l, 1).dataSync();
        const set = this.sets[s];
        let correct = 0;
        for (let i = 0; i < set.count; i++) if (pred[i] === set.labels[i]) correct++;
        return set.count > 0 ? correct / set.count : Number.NaN;
      });
    });
  }

  /** Logits of one genome on every set (call inside tf.tidy). */
  private logits(g: Float32Array): ReturnType<Tf["tensor2d"]>[] {
    const { tf, arch } = this;
    const { backbone, head } = fromGenome(arch, g);
    const layers = [
      ...layerShapes(arch).map((l) => ({
        w: backbone.get(`${l.name}.weight`)!.data,
        b: backbone.get(`${l.name}.bias`)!.data,
        inDim: l.inDim,
        outDim: l.outDim,
      })),
      { w: head.weight.data, b: head.bias.data, inDim: arch.hidden[arch.hidden.length - 1], outDim: CLASSES },
    ];
    // [out, in] -> [in, out]
    layers.forEach((l, k) => {
      const t = this.transposed[k];
      for (let o = 0; o < l.outDim; o++)
        for (let i = 0; i < l.inDim; i++) t[i * l.outDim + o] = l.w[o * l.inDim + i];
    });
    const ws = layers.map((l, k) => ({
      w: tf.tensor2d(this.transposed[k], [l.inDim, l.outDim]),
      b: tf.tensor1d(l.b),
    }));
    return this.inputs.map((x) => {
      let h = x;
      ws.forEach((l, k) => {
        const z = tf.add(tf.matMul(h, l.w), l.b) as typeof x;
        h = k < ws.length - 1 ? (tf.relu(z) as typeof x) : z;
      });
      return h;
    });
  }

  dispose(): void {
    for (const t of this.inputs) t.dispose();
  }
}

export function concat(sets: readonly ImageSet[]): ImageSet {
  const count = sets.reduce((s, x) => s + x.count, 0);
  const images = new Float32Array(count * IMAGE_SIZE);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of sets) {
    images.set(s.images.subarray(0, s.count * IMAGE_SIZE), at * IMAGE_SIZE);
    labels.set(s.labels.subarray(0, s.count), at);
    at += s.count;
  }
  return { images, labels, count };
}

/** Builds the seed's data split and trains the base and the five experts (all seeded). */
export async function buildSetup(
  seed: number,
  sizes: ExperimentSizes,
  log: (m: string) => void = () => {},
  arch: MlpArch = DEFAULT_ARCH,
): Promise<Setup> {
  const perDomain = sizes.train + sizes.dev + sizes.test;
  const total = sizes.pretrain + IN_DOMAINS.length * perDomain + OOD_DOMAINS.length * sizes.oodTest;
  const fashion = loadFashion(Math.ceil(total / 10) + 50);
  const order = new Rng(`evolver-splits-${seed}`).permutation(fashion.count);
  let cursor = 0;
  const take = (n: number): ImageSet => {
    if (cursor + n > order.length)
      throw new Error(`Fashion-MNIST split needs more than ${order.length} images`);
    const images = new Float32Array(n * IMAGE_SIZE);
    const labels = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const s = order[cursor + k];
      images.set(fashion.images.subarray(s * IMAGE_SIZE, (s + 1) * IMAGE_SIZE), k * IMAGE_SIZE);
      labels[k] = fashion.labels[s];
    }
    cursor += n;
    return { images, labels, count: n };
  };
  const shifted = (
    set: ImageSet,
    d: { transform: Parameters<typeof applyDomain>[2] },
    tag: string,
  ): ImageSet => ({
    images: applyDomain(set.images, set.count, d.transform, `evolver-${seed}-${tag}`),
    labels: set.labels,
    count: set.count,
  });

  const pretrainSet = take(sizes.pretrain);
  const domains = IN_DOMAINS.map((d, i) => ({
    train: shifted(take(sizes.train), d, `d${i}-train`),
    dev: shifted(take(sizes.dev), d, `d${i}-dev`),
    test: shifted(take(sizes.test), d, `d${i}-test`),
  }));
  const oodTest = OOD_DOMAINS.map((d, i) => shifted(take(sizes.oodTest), d, `ood${i}`));

  const rng = new Rng(`evolver-init-${seed}`);
  const backbone0 = initBackbone(arch, rng);
  const head0 = initHead(arch, CLASSES, rng);
  const pre = await train(arch, backbone0, [{ head: head0, numClasses: CLASSES, data: pretrainSet }], {
    epochs: sizes.pretrainEpochs,
    batchSize: 64,
    lr: 1e-3,
    seed: `evolver-pretrain-${seed}`,
  });
  log(`seed ${seed}: base pretrained (loss ${pre.epochLoss.map((l) => l.toFixed(3)).join(", ")})`);
  const experts: Float32Array[] = [];
  const expertLoss: number[][] = [];
  for (let i = 0; i < domains.length; i++) {
    const r = await train(
      arch,
      pre.backbone,
      [{ head: pre.heads[0], numClasses: CLASSES, data: domains[i].train }],
      {
        epochs: sizes.expertEpochs,
        batchSize: 32,
        lr: 1e-3,
        seed: `evolver-expert-${seed}-${i}`,
      },
    );
    experts.push(toGenome(arch, r.backbone, r.heads[0]));
    expertLoss.push(r.epochLoss);
  }
  log(`seed ${seed}: ${experts.length} experts fine-tuned`);
  return {
    arch,
    dim: genomeSize(arch),
    base: toGenome(arch, pre.backbone, pre.heads[0]),
    experts,
    dev: concat(domains.map((d) => d.dev)),
    devPerDomain: domains.map((d) => d.dev),
    trainPerDomain: domains.map((d) => d.train),
    testPerDomain: domains.map((d) => d.test),
    oodTest,
    pretrainLoss: pre.epochLoss,
    expertLoss,
  };
}
