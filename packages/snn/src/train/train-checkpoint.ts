import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ImageSet, subset } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import type { TfBackendName } from "@x/tensor-core/tfjs";
import { loadModel, saveModel } from "../checkpoint/safetensors.js";
import { loadClassPool, splitPerClass } from "../data/splits.js";
import { SnnConfigError } from "../errors.js";
import { initModel, replaceHead, type SnnModel } from "../genome/layout.js";
import { ARCHITECTURE_KEYS, type ModelSpecOptions, modelSpecOf, NEURON_KEYS } from "../model/options.js";
import type { ModelSpec } from "../model/spec.js";
import { asIs, type OptionName } from "../options.js";
import type { AugmentOptions } from "./augment.js";
import type { OptimizerOptions } from "./optimizer.js";
import { type EpochRecord, TRAIN_STATE_FILE } from "./state.js";
import { TRAIN_DEFAULTS, type TrainProgress, trainModel } from "./train.js";

/** The metadata key of a trained model's {@link TrainRecord} (JSON) in its safetensors header. */
export const TRAIN_METADATA_KEY = "x-snn-train";

/** What {@link trainCheckpoint} trains and where the model goes. */
export interface TrainCheckpointSettings {
  /** The trained model's file (safetensors, written atomically). */
  readonly out: string;
  /** mnist, fashion-mnist (their train split) or a safetensors data file (all of it). */
  readonly data: string;
  /** Keep these classes, relabelled 0..k−1 in the order given (default: all). */
  readonly classes?: readonly number[];
  /** Training images per class (default: all but the validation ones). */
  readonly trainPerClass?: number;
  /** Validation images per class held out of the training data (default 0: no validation set). */
  readonly valPerClass?: number;
  /** Write the epoch with the best validation accuracy instead of the last (needs `valPerClass`). */
  readonly keepBest?: boolean;
  /** A checkpoint to start from: its model, with a fresh head when its class count differs from the data's. */
  readonly init?: string;
  /** The model of a run without `init` (default: {@link sewMlp}'s). */
  readonly model?: ModelSpecOptions;
  /**
   * Whether a setting was given explicitly (not a default); with `init`, a given model key
   * ({@link ARCHITECTURE_KEYS}, {@link NEURON_KEYS}) is refused. Default: the keys `model` defines.
   */
  readonly given?: (key: string) => boolean;
  readonly epochs: number;
  /** Default {@link TRAIN_DEFAULTS}' (64). */
  readonly batchSize?: number;
  /** Default {@link TRAIN_DEFAULTS}' (SGD, lr 0.1, Nesterov momentum 0.9, weight decay 5e-4). */
  readonly optimizer?: OptimizerOptions;
  /** Default cosine. */
  readonly schedule?: "cosine" | "constant";
  /** Default none. */
  readonly augment?: AugmentOptions;
  /** Seeds the initialisation (or the new head), the data split, the batch order and the augmentation. */
  readonly seed: number;
  readonly backend?: TfBackendName | "auto";
  /** The training state is kept here every `checkpointEvery` steps and at each epoch end (resumable). */
  readonly checkpointDir?: string;
  readonly checkpointEvery?: number;
  /** Continue the run in `checkpointDir` (the same settings): the same weights as an uninterrupted run. */
  readonly resume?: boolean;
}

export interface TrainCheckpointHooks {
  /** After every training step (and with `epochDone` after every epoch), as {@link trainModel} reports it. */
  readonly onProgress?: (e: TrainProgress) => void;
  /** A line worth telling the user: a new head, a resume and where it starts, no state to resume yet. */
  readonly onNotice?: (line: string) => void;
}

/** The settings of a training run, stored with its model under {@link TRAIN_METADATA_KEY}. */
export interface TrainRecord {
  readonly data: string;
  readonly classes: readonly number[] | null;
  readonly trainImages: number;
  readonly valImages: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerOptions;
  readonly schedule: "cosine" | "constant";
  readonly augment: AugmentOptions;
  readonly seed: number;
  readonly init: string | null;
  readonly keepBest: boolean;
}

/** The result document of {@link trainCheckpoint} (`x snn train --json`; {@link formatTrainReport} prints it). */
export interface TrainDocument extends TrainRecord {
  readonly out: string;
  readonly spec: ModelSpec;
  readonly parameters: number;
  readonly backend: TfBackendName;
  readonly steps: number;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number | null;
  readonly resumed: boolean;
  readonly elapsedMs: number;
}

/**
 * Trains a model on a data set and writes it to `out`: the per-class split (validation held out), the model (fresh
 * from `model`, or `init` with a new head when the class count differs), {@link trainModel}, the best epoch by
 * validation (`keepBest`) or the last, the file with the run's {@link TrainRecord}. Returns the result document.
 * Bad settings are {@link SnnConfigError}s (`name` says how messages name the settings).
 */
export async function trainCheckpoint(
  s: TrainCheckpointSettings,
  hooks: TrainCheckpointHooks = {},
  name: OptionName = asIs,
): Promise<TrainDocument> {
  const notice = hooks.onNotice ?? (() => {});
  const valPerClass = s.valPerClass ?? 0;
  if (s.keepBest && valPerClass === 0)
    throw new SnnConfigError(`${name("keepBest")} needs a validation set (${name("valPerClass")} N)`);
  const pool = await loadClassPool(s.data, "train", s.classes, name);
  const classes = s.classes?.length ?? pool.classes;
  let train: ImageSet = pool.set;
  let val: ImageSet | undefined;
  if (valPerClass > 0 || s.trainPerClass !== undefined) {
    const split = splitPerClass(pool.set, { valPerClass, trainPerClass: s.trainPerClass, seed: s.seed });
    train = subset(pool.set, split.train);
    if (split.val.length > 0) val = subset(pool.set, split.val);
  }

  let model: SnnModel;
  if (s.init) {
    const given =
      s.given ?? ((k: string) => (s.model as Record<string, unknown> | undefined)?.[k] !== undefined);
    const typed = [...ARCHITECTURE_KEYS, ...NEURON_KEYS].find(given);
    if (typed)
      throw new SnnConfigError(
        `${name(typed)} cannot change the model of ${name("init")} (its file defines it)`,
      );
    model = await loadModel(s.init);
    if (model.spec.classes !== classes) {
      notice(`new ${classes}-class head on the ${model.spec.classes}-class model of ${s.init}`);
      model = replaceHead(model, classes, new Rng(`head-${s.seed}`));
    }
  } else
    model = initModel(modelSpecOf(s.model ?? { model: "sew-mlp" }, classes, name), new Rng(`init-${s.seed}`));

  if (s.resume && s.checkpointDir && !existsSync(join(s.checkpointDir, TRAIN_STATE_FILE)))
    notice(`no training state in ${s.checkpointDir} yet: starting from the beginning`);
  const settings = {
    epochs: s.epochs,
    batchSize: s.batchSize ?? TRAIN_DEFAULTS.batchSize,
    optimizer: s.optimizer ?? TRAIN_DEFAULTS.optimizer,
    schedule: s.schedule ?? TRAIN_DEFAULTS.schedule,
    augment: s.augment ?? {},
    seed: s.seed,
  };
  let announced = false;
  const res = await trainModel({
    model,
    train,
    val,
    keepBest: s.keepBest,
    ...settings,
    backend: s.backend,
    checkpointDir: s.checkpointDir,
    checkpointEvery: s.checkpointDir ? s.checkpointEvery : undefined,
    resume: s.resume,
    onProgress: (e) => {
      if (!announced && e.globalStep > 1) notice(`resuming at step ${e.globalStep - 1} of ${e.totalSteps}`);
      announced = true;
      hooks.onProgress?.(e);
    },
  });
  const final = s.keepBest ? res.best : res.model;
  const record: TrainRecord = {
    data: s.data,
    classes: s.classes ?? null,
    trainImages: train.count,
    valImages: val?.count ?? 0,
    ...settings,
    init: s.init ?? null,
    keepBest: s.keepBest === true,
  };
  await saveModel(final, s.out, { [TRAIN_METADATA_KEY]: JSON.stringify(record) });
  return {
    out: s.out,
    spec: final.spec,
    parameters: final.genome.length,
    ...record,
    backend: res.backend,
    steps: res.steps,
    history: res.history,
    bestEpoch: res.bestEpoch,
    resumed: res.resumed,
    elapsedMs: res.elapsedMs,
  };
}
