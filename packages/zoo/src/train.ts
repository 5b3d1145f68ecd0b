/**
 * Seeded mini-batch training of the MLP backbone with one or more task heads (Adam, softmax cross-entropy).
 * One routine covers the three uses: pretraining (one 20-way head), expert fine-tuning (one task head) and joint
 * multi-task training (every head; each step takes one mini-batch per task and averages their losses).
 * All randomness (shuffles) comes from the seeded Rng, so a run is reproducible on the same backend.
 */

import { IMAGE_SIZE, type ImageSet } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { cloneHead, cloneParams, type Head, layerShapes, type MlpArch, type Params } from "./model.js";
import { getTf, type Tf } from "./tf.js";

export interface TrainTask {
  readonly head: Head;
  readonly numClasses: number;
  readonly data: ImageSet;
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly seed: string;
  /** Epochs at the start that train only the heads (linear probing before fine-tuning). */
  readonly headOnlyEpochs?: number;
  /**
   * Keep the heads fixed after the head-only epochs, so fine-tuning moves only the backbone against a fixed
   * classifier (like the frozen zero-shot heads of the paper's ViT setup).
   */
  readonly freezeHead?: boolean;
  /** Learning rate of the head-only epochs (default `lr`). */
  readonly headLr?: number;
  /** "adam" (default) or "sgd" (momentum 0.9) for the full epochs; head-only epochs always use Adam. */
  readonly optimizer?: "adam" | "sgd";
  readonly onStep?: (done: number, total: number) => void;
}

export interface TrainResult {
  readonly backbone: Params;
  readonly heads: Head[];
  /** Mean training loss of each epoch. */
  readonly epochLoss: number[];
}

type Variable = ReturnType<Tf["variable"]>;

export function stepsPerEpoch(tasks: readonly TrainTask[], batchSize: number): number {
  return Math.max(...tasks.map((t) => Math.ceil(t.data.count / batchSize)));
}

export async function train(
  arch: MlpArch,
  backbone: Params,
  tasks: readonly TrainTask[],
  opts: TrainOptions,
): Promise<TrainResult> {
  const tf = await getTf();
  const rng = new Rng(opts.seed);
  const layers = layerShapes(arch);
  const bbVars = layers.map((l) => ({
    w: tf.variable(tf.tensor2d(backbone.get(`${l.name}.weight`)!.data, [l.outDim, l.inDim])),
    b: tf.variable(tf.tensor1d(backbone.get(`${l.name}.bias`)!.data)),
  }));
  const headVars = tasks.map((t) => ({
    w: tf.variable(tf.tensor2d(t.head.weight.data, t.head.weight.shape as [number, number])),
    b: tf.variable(tf.tensor1d(t.head.bias.data)),
  }));
  const headList: Variable[] = headVars.flatMap((h) => [h.w, h.b]);
  const bbList: Variable[] = bbVars.flatMap((v) => [v.w, v.b]);
  const allList: Variable[] = [...bbList, ...headList];

  const B = opts.batchSize;
  const steps = stepsPerEpoch(tasks, B);
  const total = steps * opts.epochs;
  const xBuf = tasks.map(() => new Float32Array(B * IMAGE_SIZE));
  const yBuf = tasks.map(() => new Int32Array(B));
  const order = tasks.map((t) => rng.permutation(t.data.count));
  const cursor = tasks.map(() => 0);
  const epochLoss: number[] = [];
  let optimizer: ReturnType<Tf["train"]["adam"]> | ReturnType<Tf["train"]["momentum"]> = tf.train.adam(
    (opts.headOnlyEpochs ?? 0) > 0 ? (opts.headLr ?? opts.lr) : opts.lr,
  );
  let done = 0;

  // Fills task k's batch buffers with the next B examples of its shuffled order (reshuffling when exhausted).
  const nextBatch = (k: number): number => {
    const t = tasks[k]!;
    const n = Math.min(B, t.data.count);
    for (let j = 0; j < n; j++) {
      if (cursor[k]! >= t.data.count) {
        order[k] = rng.permutation(t.data.count);
        cursor[k] = 0;
      }
      const s = order[k]![cursor[k]!++]!;
      xBuf[k]!.set(t.data.images.subarray(s * IMAGE_SIZE, (s + 1) * IMAGE_SIZE), j * IMAGE_SIZE);
      yBuf[k]![j] = t.data.labels[s]!;
    }
    return n;
  };

  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const headOnly = epoch < (opts.headOnlyEpochs ?? 0);
      if (epoch === (opts.headOnlyEpochs ?? 0) && (epoch > 0 || opts.optimizer === "sgd")) {
        optimizer.dispose();
        optimizer = opts.optimizer === "sgd" ? tf.train.momentum(opts.lr, 0.9) : tf.train.adam(opts.lr);
      }
      // A fresh shuffle per epoch for single-task runs keeps epochs aligned with passes over the data.
      for (let k = 0; k < tasks.length; k++) {
        if (cursor[k] !== 0 || epoch > 0) {
          order[k] = rng.permutation(tasks[k]!.data.count);
          cursor[k] = 0;
        }
      }
      let lossSum = 0;
      for (let s = 0; s < steps; s++) {
        const sizes = tasks.map((_, k) => nextBatch(k));
        const loss = optimizer.minimize(
          () => {
            let sum: ReturnType<Tf["scalar"]> = tf.scalar(0);
            for (let k = 0; k < tasks.length; k++) {
              const n = sizes[k]!;
              const x = tf.tensor2d(xBuf[k]!.subarray(0, n * IMAGE_SIZE), [n, IMAGE_SIZE]);
              const y = tf.oneHot(tf.tensor1d(yBuf[k]!.subarray(0, n), "int32"), tasks[k]!.numClasses);
              const logits = tf.add(
                tf.matMul(forward(tf, bbVars, x), headVars[k]!.w, false, true),
                headVars[k]!.b,
              );
              sum = tf.add(sum, tf.losses.softmaxCrossEntropy(y, logits));
            }
            return tf.div(sum, tasks.length);
          },
          true,
          headOnly ? headList : opts.freezeHead ? bbList : allList,
        );
        lossSum += loss!.dataSync()[0]!;
        loss!.dispose();
        done++;
        opts.onStep?.(done, total);
      }
      epochLoss.push(lossSum / steps);
    }
    const outBackbone = cloneParams(backbone);
    layers.forEach((l, i) => {
      outBackbone.get(`${l.name}.weight`)!.data.set(bbVars[i]!.w.dataSync() as Float32Array);
      outBackbone.get(`${l.name}.bias`)!.data.set(bbVars[i]!.b.dataSync() as Float32Array);
    });
    const heads = tasks.map((t, k) => {
      const h = cloneHead(t.head);
      h.weight.data.set(headVars[k]!.w.dataSync() as Float32Array);
      h.bias.data.set(headVars[k]!.b.dataSync() as Float32Array);
      return h;
    });
    return { backbone: outBackbone, heads, epochLoss };
  } finally {
    optimizer.dispose();
    for (const v of allList) v.dispose();
  }
}

/** Backbone features relu(...relu(x W1^T + b1)...) for a batch x [n, input]. */
export function forward(
  tf: Tf,
  layers: readonly { w: ReturnType<Tf["tensor2d"]>; b: ReturnType<Tf["tensor1d"]> }[],
  x: ReturnType<Tf["tensor2d"]>,
): ReturnType<Tf["tensor2d"]> {
  let h = x;
  for (const l of layers) h = tf.relu(tf.add(tf.matMul(h, l.w, false, true), l.b)) as typeof x;
  return h;
}
