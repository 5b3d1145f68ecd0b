import type * as tfc from "@tensorflow/tfjs-core";
import type { ImageSet } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { initTf, type TfBackendName } from "@x/tensor-core/tfjs";
import { SnnCheckpointError, SnnConfigError } from "../errors.js";
import type { SnnModel } from "../genome/layout.js";
import { FastSnn } from "../infer/net.js";
import type { Tf } from "../layer/tf.js";
import { INPUT_SIZE } from "../model/spec.js";
import { type BatchStats, TfSnn } from "../model/tf-net.js";
import { asIs, type OptionName } from "../options.js";
import { type AugmentOptions, makeBatch } from "./augment.js";
import { Optimizer, type OptimizerOptions, validateOptimizer } from "./optimizer.js";
import { type EpochRecord, readTrainState, type TrainStateMeta, writeTrainState } from "./state.js";

/** What `trainModel` uses when an option is not given. */
export const TRAIN_DEFAULTS = {
  batchSize: 64,
  optimizer: { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: "cosine",
} as const satisfies { batchSize: number; optimizer: OptimizerOptions; schedule: "cosine" | "constant" };

/** Adam's learning rate when none is given (torch.optim.Adam's default). */
export const ADAM_LR = 1e-3;

/** An optimizer by kind; settings left undefined take {@link TRAIN_DEFAULTS}' (sgd) or Adam's defaults. */
export interface OptimizerChoice {
  readonly optimizer: OptimizerOptions["kind"];
  readonly lr?: number;
  /** sgd only. */
  readonly momentum?: number;
  /** sgd only. */
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

/**
 * The optimizer options of `o`: sgd defaults to TRAIN_DEFAULTS' (lr 0.1, Nesterov momentum 0.9, weight decay
 * 5e-4), adam to lr {@link ADAM_LR} without weight decay. Momentum or nesterov given with adam is a
 * {@link SnnConfigError} (`name` says how the message names the options).
 */
export function optimizerOf(o: OptimizerChoice, name: OptionName = asIs): OptimizerOptions {
  if (o.optimizer === "adam") {
    for (const k of ["momentum", "nesterov"] as const)
      if (o[k] !== undefined) throw new SnnConfigError(`${name(k)} applies to ${name("optimizer")} sgd`);
    return { kind: "adam", lr: o.lr ?? ADAM_LR, weightDecay: o.weightDecay ?? 0 };
  }
  const sgd = TRAIN_DEFAULTS.optimizer;
  return {
    kind: "sgd",
    lr: o.lr ?? sgd.lr,
    momentum: o.momentum ?? sgd.momentum,
    nesterov: o.nesterov ?? sgd.nesterov,
    weightDecay: o.weightDecay ?? sgd.weightDecay,
  };
}

export interface TrainOptions {
  /** Initial weights (never modified). */
  readonly model: SnnModel;
  readonly train: ImageSet;
  /** Scored after every epoch with the fast inference path (for `keepBest` and the history). */
  readonly val?: ImageSet;
  readonly epochs: number;
  /** Default 64; the last incomplete batch of an epoch is dropped. */
  readonly batchSize?: number;
  /** Default SGD, lr 0.1, Nesterov momentum 0.9, weight decay 5e-4. */
  readonly optimizer?: OptimizerOptions;
  /** "cosine" (default): lr·(1 + cos(π·step/steps))/2 per step, to 0 at the end; "constant". */
  readonly schedule?: "cosine" | "constant";
  readonly augment?: AugmentOptions;
  readonly seed: number | string;
  /** TensorFlow.js backend (default "auto": tfjs-node when installed, else wasm, else cpu). */
  readonly backend?: TfBackendName | "auto";
  /** Keep the weights of the epoch with the best validation accuracy (needs `val`). */
  readonly keepBest?: boolean;
  /** Directory for the resumable training state; written every `checkpointEvery` steps and at each epoch end. */
  readonly checkpointDir?: string;
  readonly checkpointEvery?: number;
  /** Continue from the state in `checkpointDir` when there is one (a different configuration is refused). */
  readonly resume?: boolean;
  readonly onProgress?: (e: TrainProgress) => void;
}

/** Emitted after every step (and with `epochDone` after every epoch): enough for a progress bar with ETA. */
export interface TrainProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly stepsPerEpoch: number;
  readonly globalStep: number;
  readonly totalSteps: number;
  readonly loss: number;
  readonly lr: number;
  readonly elapsedMs: number;
  readonly etaMs: number;
  readonly samplesPerSecond: number;
  readonly epochDone: boolean;
  readonly valAccuracy: number | null;
}

export interface TrainResult {
  /** Weights after the last step. */
  readonly model: SnnModel;
  /** The best epoch's weights by validation accuracy (keepBest), else the final ones. */
  readonly best: SnnModel;
  readonly bestEpoch: number | null;
  readonly history: readonly EpochRecord[];
  readonly steps: number;
  readonly backend: TfBackendName;
  readonly elapsedMs: number;
  /** True when this call resumed from a checkpoint. */
  readonly resumed: boolean;
}

/** FNV-1a over the bytes of the training data (part of the resume fingerprint). */
function dataDigest(set: ImageSet): string {
  let h = 0x811c9dc5;
  const words = new Uint32Array(set.images.buffer, set.images.byteOffset, set.images.length);
  for (let i = 0; i < words.length; i += 7) h = Math.imul(h ^ words[i], 0x01000193) >>> 0;
  for (let i = 0; i < set.labels.length; i++) h = Math.imul(h ^ set.labels[i], 0x01000193) >>> 0;
  return `${set.count}:${h.toString(16)}`;
}

function softCrossEntropy(tf: Tf, logits: tfc.Tensor, targets: tfc.Tensor): tfc.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tfc.Scalar;
}

/**
 * Surrogate-gradient training through time (BPTT over the T steps) on TensorFlow.js. Deterministic for a
 * seed and backend; with `checkpointDir`, a process killed at any point and resumed gives the same weights.
 */
export async function trainModel(o: TrainOptions): Promise<TrainResult> {
  const spec = o.model.spec;
  const batch = o.batchSize ?? TRAIN_DEFAULTS.batchSize;
  if (!(Number.isInteger(o.epochs) && o.epochs >= 0))
    throw new SnnConfigError(`epochs must be an integer >= 0, got ${o.epochs}`);
  if (!(Number.isInteger(batch) && batch >= 1))
    throw new SnnConfigError(`batchSize must be an integer >= 1, got ${batch}`);
  const stepsPerEpoch = Math.floor(o.train.count / batch);
  if (stepsPerEpoch < 1 && o.epochs > 0) {
    throw new SnnConfigError(
      `the training set (${o.train.count} images) is smaller than one batch (${batch})`,
    );
  }
  if (o.keepBest && !o.val) throw new SnnConfigError("keepBest needs a validation set (val)");
  for (let i = 0; i < o.train.count; i++) {
    if (o.train.labels[i] >= spec.classes) {
      throw new SnnConfigError(
        `training label ${o.train.labels[i]} at image ${i} is outside the model's ${spec.classes} classes`,
      );
    }
  }
  const optimizer = validateOptimizer(o.optimizer ?? TRAIN_DEFAULTS.optimizer);
  const schedule = o.schedule ?? TRAIN_DEFAULTS.schedule;
  const rt = await initTf({ backend: o.backend ?? "auto" });
  if (!rt.gradients)
    throw new SnnConfigError("TensorFlow.js gradients are unavailable: @tensorflow/tfjs-layers did not load");
  const tf = rt.tf;
  const fingerprint = JSON.stringify({
    spec,
    init: dataDigest({ images: o.model.genome, labels: new Uint8Array(0), count: o.model.genome.length }),
    data: dataDigest(o.train),
    val: o.val ? dataDigest(o.val) : null,
    epochs: o.epochs,
    batch,
    optimizer,
    schedule,
    augment: o.augment ?? {},
    seed: o.seed,
    keepBest: o.keepBest ?? false,
    backend: rt.backend,
  });
  const totalSteps = stepsPerEpoch * o.epochs;
  const current = o.model.clone();
  const best: SnnModel | null = o.keepBest ? o.model.clone() : null;
  let bestInfo: TrainStateMeta["best"] = null;
  const opt = new Optimizer(tf, optimizer);
  let rng = new Rng(o.seed);
  let epoch = 0;
  let step = 0;
  let globalStep = 0;
  let lossSum = 0;
  let elapsedBefore = 0;
  let epochRng = rng.state();
  let history: EpochRecord[] = [];
  let resumed = false;
  const result = (elapsedMs: number): TrainResult => ({
    model: current,
    best: best ?? current,
    bestEpoch: bestInfo?.epoch ?? null,
    history,
    steps: globalStep,
    backend: rt.backend,
    elapsedMs,
    resumed,
  });
  if (o.resume && o.checkpointDir) {
    const st = await readTrainState(o.checkpointDir);
    if (st) {
      if (st.meta.fingerprint !== fingerprint) {
        throw new SnnCheckpointError(
          o.checkpointDir,
          `the training state was written by a different configuration\n  state:    ${st.meta.fingerprint}\n  this run: ${fingerprint}`,
        );
      }
      for (const [name, data] of st.model) current.tensor(name).set(data);
      if (st.best && best) for (const [name, data] of st.best) best.tensor(name).set(data);
      opt.restore(st.meta.optimizerStep, st.slots);
      ({
        epoch,
        step,
        globalStep,
        lossSum,
        history: history,
      } = { ...st.meta, history: [...st.meta.history] });
      elapsedBefore = st.meta.elapsedMs;
      epochRng = st.meta.epochRng;
      rng = Rng.fromState(st.meta.rng);
      bestInfo = st.meta.best;
      resumed = true;
      if (st.meta.done) return result(elapsedBefore);
    }
  }
  const net = new TfSnn(tf, current);
  const t0 = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - t0);
  const x = new Float32Array(batch * INPUT_SIZE);
  const y = new Float32Array(batch * spec.classes);
  const slotsData = () =>
    new Map([...opt.slots].map(([k, t]) => [k, { data: t.dataSync() as Float32Array, shape: [...t.shape] }]));
  /** Saves the state for continuing at (`atEpoch`, `atStep`). */
  const save = async (atEpoch: number, atStep: number, done: boolean): Promise<void> => {
    if (!o.checkpointDir) return;
    net.writeTo(current);
    const meta: TrainStateMeta = {
      fingerprint,
      epoch: atEpoch,
      step: atStep,
      globalStep,
      optimizerStep: opt.step,
      epochRng,
      rng: rng.state(),
      history,
      lossSum,
      elapsedMs: elapsed(),
      done,
      best: bestInfo,
    };
    await writeTrainState(o.checkpointDir, meta, current, best, slotsData());
  };
  const lrAt = (s: number): number =>
    schedule === "cosine"
      ? (optimizer.lr * (1 + Math.cos((Math.PI * s) / Math.max(1, totalSteps)))) / 2
      : optimizer.lr;
  let stepsThisCall = 0;
  try {
    for (; epoch < o.epochs; epoch++) {
      let perm: Uint32Array;
      if (step === 0) {
        epochRng = rng.state();
        perm = rng.permutation(o.train.count);
        lossSum = 0;
      } else {
        const saved = rng.state();
        perm = Rng.fromState(epochRng).permutation(o.train.count);
        rng = Rng.fromState(saved);
      }
      for (; step < stepsPerEpoch; step++) {
        makeBatch(
          rng,
          o.train.images,
          o.train.labels,
          perm.subarray(step * batch, (step + 1) * batch),
          spec.classes,
          o.augment ?? {},
          x,
          y,
        );
        const lr = lrAt(globalStep);
        const stats = new Map<string, BatchStats>();
        const loss = tf.tidy(() => {
          const xs = tf.tensor2d(x, [batch, INPUT_SIZE]);
          const ys = tf.tensor2d(y, [batch, spec.classes]);
          const vars = [...net.trainable.values()];
          const { value, grads } = tf.variableGrads(
            () => softCrossEntropy(tf, net.forward(xs, true, stats), ys),
            vars,
          );
          opt.apply(net.trainable, grads, lr);
          return value.dataSync()[0];
        });
        net.updateRunningStats(stats);
        for (const s of stats.values()) tf.dispose([s.mean, s.variance]);
        lossSum += loss;
        globalStep++;
        stepsThisCall++;
        const done = step + 1 === stepsPerEpoch;
        let valAccuracy: number | null = null;
        if (done) {
          net.writeTo(current);
          if (o.val) valAccuracy = new FastSnn(current).accuracy(o.val.images, o.val.labels, o.val.count);
          history.push({ epoch, loss: lossSum / stepsPerEpoch, lr, valAccuracy });
          if (best && valAccuracy !== null && (bestInfo === null || valAccuracy > bestInfo.valAccuracy)) {
            best.genome.set(current.genome);
            bestInfo = { epoch, valAccuracy };
          }
        }
        const el = elapsed();
        const rate = stepsThisCall / Math.max(1e-9, performance.now() - t0);
        o.onProgress?.({
          epoch,
          epochs: o.epochs,
          step: step + 1,
          stepsPerEpoch,
          globalStep,
          totalSteps,
          loss,
          lr,
          elapsedMs: el,
          etaMs: (totalSteps - globalStep) / Math.max(rate, 1e-12),
          samplesPerSecond: rate * 1000 * batch,
          epochDone: done,
          valAccuracy,
        });
        if (done) await save(epoch + 1, 0, false);
        else if (o.checkpointEvery && (step + 1) % o.checkpointEvery === 0)
          await save(epoch, step + 1, false);
      }
      step = 0;
    }
    net.writeTo(current);
    await save(o.epochs, 0, true);
  } finally {
    net.dispose();
    opt.dispose();
  }
  return result(elapsed());
}
