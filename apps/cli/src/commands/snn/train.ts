/**
 * `x snn train`: surrogate-gradient training of a SEW-MLP or conv SEW ResNet (@x/snn's `trainCheckpoint`) on MNIST,
 * Fashion-MNIST or a safetensors data file; resumable from a checkpoint directory after a kill.
 */
import {
  ADAM_LR,
  formatTrainReport,
  isBuiltinDataset,
  optimizerOf,
  TRAIN_DEFAULTS,
  trainCheckpoint,
} from "@x/snn";
import type { Command } from "commander";
import {
  addOptions,
  defineCommand,
  given,
  integer,
  number,
  type OptionsOf,
  options,
  printResult,
  UsageError,
} from "../../kit.js";
import { note, resumableBar } from "../../progress.js";
import {
  backendOption,
  checkRunOutputs,
  dataOptions,
  flag,
  modelFrom,
  modelOptions,
  runOutputOptions,
  snnAction,
} from "./common.js";

const SGD = TRAIN_DEFAULTS.optimizer;
/** Epochs when --epochs is not given (the library has no default; a short run, like the CADE experiment's). */
const EPOCHS = 2;
/** Steps between training-state writes (besides every epoch end). */
const CHECKPOINT_EVERY = 50;

type TrainOpts = OptionsOf<ReturnType<typeof trainOptions>>;

async function trainAction(o: TrainOpts, cmd: Command): Promise<void> {
  const out = checkRunOutputs(o, "where the trained model goes", [
    ...(o.init ? [o.init] : []),
    ...(isBuiltinDataset(o.data) ? [] : [o.data]),
  ]);
  if (o.keepBest && o.valPerClass === 0)
    throw new UsageError("--keep-best needs a validation set (--val-per-class N)");
  const quiet = o.quiet === true || o.json === true;
  const nesterov = given(cmd, "nesterov") ? o.nesterov : undefined;
  const optimizer = optimizerOf({ ...o, nesterov }, (k) => (k === "nesterov" ? "--no-nesterov" : flag(k)));
  const bar = resumableBar(quiet, "train");
  try {
    const doc = await trainCheckpoint(
      {
        out,
        data: o.data,
        classes: o.classes,
        trainPerClass: o.trainPerClass,
        valPerClass: o.valPerClass,
        keepBest: o.keepBest,
        init: o.init,
        model: modelFrom(o, cmd),
        given: (k) => given(cmd, k),
        epochs: o.epochs,
        batchSize: o.batchSize,
        optimizer,
        schedule: o.schedule,
        augment: {
          shift: o.shift,
          erasing: o.erasing,
          mixupAlpha: o.mixup,
          labelSmoothing: o.labelSmoothing,
        },
        seed: o.seed,
        backend: o.backend,
        checkpointDir: o.checkpointDir,
        checkpointEvery: o.checkpointEvery,
        resume: o.resume,
      },
      {
        onNotice: (line) => note(quiet, line),
        onProgress: (e) => {
          bar.update(
            e.globalStep,
            e.totalSteps,
            `epoch ${e.epoch + 1}/${e.epochs} step ${e.globalStep}/${e.totalSteps} loss ${e.loss.toFixed(3)} ${Math.round(e.samplesPerSecond)} img/s`,
          );
          if (e.epochDone && e.valAccuracy !== null)
            note(quiet, `epoch ${e.epoch + 1}/${e.epochs}: validation ${(100 * e.valAccuracy).toFixed(2)}%`);
        },
      },
      flag,
    );
    printResult(o.json, doc, () => formatTrainReport(doc));
  } finally {
    bar.stop();
  }
}

export function trainCommand(): Command {
  const cmd = defineCommand(
    "train",
    "train a spiking network (SEW-MLP or conv SEW ResNet) with surrogate gradients through time; resumable",
    [
      "x snn train --out sew-mlp.safetensors",
      "x snn train --data fashion-mnist --classes 5,7,8,9 --epochs 5 --out source.safetensors --checkpoint-dir ckpt/",
      "x snn train --out source.safetensors --checkpoint-dir ckpt/ --resume   # after a crash: the same weights",
      "x snn train --model sew-resnet --stages 8x1/2,16x1/2 --connect IAND --optimizer adam --out resnet.safetensors",
      "x snn train --init source.safetensors --classes 0,1,2,3,4,6 --val-per-class 200 --keep-best --out target.safetensors",
    ],
  ).description(
    "Train with BPTT over the T time steps on TensorFlow.js (wasm by default; tfjs-node when installed). Data: the train split of mnist (first 80 % of each class) or fashion-mnist (first 6,000 of each class), or a safetensors file (all of it). --val-per-class holds out a seeded validation set. With --init the model (and its neuron) come from the file; a different class count gets a fresh head (transfer learning). With --checkpoint-dir the training state is written every --checkpoint-every steps and at each epoch end; --resume continues a killed run to exactly the weights of an uninterrupted one. The checkpoint layout is in the @x/snn README.",
  );
  return addOptions(cmd, trainOptions()).action(snnAction(trainAction));
}

const trainOptions = () =>
  options([
    ...modelOptions(),
    ...dataOptions({ min: 0, default: 0 }),
    ["--keep-best", "write the epoch with the best validation accuracy (needs --val-per-class)"],
    ["--epochs <n>", "epochs", integer(0, 100000), EPOCHS],
    [
      "--batch-size <n>",
      "batch size (the last incomplete batch is dropped)",
      integer(1, 65536),
      TRAIN_DEFAULTS.batchSize,
    ],
    ["--optimizer <name>", "optimizer", ["sgd", "adam"], SGD.kind],
    [
      "--lr <x>",
      `learning rate (default: ${SGD.lr} for sgd, ${ADAM_LR} for adam)`,
      number(0, Infinity, true),
    ],
    ["--momentum <m>", `sgd momentum (default: ${SGD.momentum})`, number(0, 1)],
    ["--no-nesterov", "sgd: plain momentum instead of Nesterov's"],
    ["--weight-decay <x>", `L2 weight decay (default: ${SGD.weightDecay} for sgd, 0 for adam)`, number(0)],
    [
      "--schedule <s>",
      "learning rate: cosine = lr·(1 + cos(π·step/steps))/2, or constant",
      ["cosine", "constant"],
      TRAIN_DEFAULTS.schedule,
    ],
    ["--shift <px>", "augmentation: random translation by up to this many pixels", integer(0, 27), 0],
    ["--erasing <p>", "augmentation: random erasing probability", number(0, 1), 0],
    ["--mixup <α>", "augmentation: mixup with λ ~ Beta(α, α) (0 = off)", number(0), 0],
    ["--label-smoothing <ε>", "label smoothing", number(0, 1), 0],
    ["--seed <n>", "seed of initialisation, data split, batch order and augmentation", integer(0), 1],
    backendOption(),
    ["--init <file>", "start from this checkpoint (its architecture; a new head if the classes differ)"],
    [
      "--checkpoint-every <steps>",
      "training-state writes, in steps (besides every epoch end)",
      integer(1),
      CHECKPOINT_EVERY,
    ],
    ...runOutputOptions("the trained model", "the training state"),
  ]);
