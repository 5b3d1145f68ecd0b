/**
 * `x snn eval`: accuracy and the SHA-256 of the predictions of any checkpoint with @x/snn's documented layout
 * (written here or by another framework), through the fast inference path.
 */

import { describeSpec, evaluateCheckpoint, NEURON_KEYS, overriddenSettings } from "@x/snn";
import { formatSeconds } from "@x/tensor-core";
import type { Command } from "commander";
import {
  addOptions,
  defineCommand,
  given,
  integer,
  jsonOption,
  type OptionsOf,
  options,
  pct,
  printResult,
  UsageError,
} from "../../kit.js";
import { classesOption, dataOption, flag, MLP, neuronFrom, neuronOptions, snnAction } from "./common.js";

type EvalOpts = OptionsOf<ReturnType<typeof evalOptions>>;

async function evalAction(o: EvalOpts, cmd: Command): Promise<void> {
  if (!o.model) throw new UsageError("--model FILE is required (the checkpoint to evaluate)");
  const settings = {
    data: o.data,
    split: o.split,
    classes: o.classes,
    timeSteps: o.timeSteps,
    connect: o.connect,
    neuron: NEURON_KEYS.some((k) => given(cmd, k)) ? neuronFrom(o) : undefined,
  };
  const r = await evaluateCheckpoint(o.model, settings, flag);
  const ignored = overriddenSettings(settings, r.model);
  if (ignored.length)
    process.stderr.write(
      `note: ${o.model} carries its model spec (x-snn-model metadata); ${ignored.map((k) => (k === "neuron" ? "the neuron flags" : flag(k))).join(", ")} did not apply\n`,
    );
  printResult(o.json, r, () =>
    [
      `accuracy ${pct(r.accuracy, 2)} (${r.correct}/${r.count}) on ${r.data} ${r.split}${r.classes ? ` classes ${r.classes.join(",")}` : ""}`,
      `predictions sha256 ${r.predictionsSha256}`,
      `model ${describeSpec(r.model)}; ${formatSeconds(r.elapsedMs / 1000)}`,
    ].join("\n"),
  );
}

export function evalCommand(): Command {
  const cmd = defineCommand(
    "eval",
    "accuracy and predictions checksum of a checkpoint (any file with the documented tensor layout) on a data split",
    [
      "x snn eval --model sew-mlp.safetensors",
      "x snn eval --model cade.safetensors --data fashion-mnist --classes 0,1,2,3,4,6 --split test --json",
      "x snn eval --model from-pytorch.safetensors --data mnist --time-steps 8 --neuron spikingjelly-lif",
    ],
  ).description(
    "Loads a checkpoint (every tensor checked: name, shape, dtype F32/F16/BF16/F64), runs the fast inference path over a split and prints top-1 accuracy and the SHA-256 of the predicted labels (one byte each, in data order: equal predictions, equal checksum). The architecture comes from the file's x-snn-model metadata; a file without it (another framework's) is read from its tensor shapes, with --time-steps, --connect and the neuron flags where those differ from the defaults. Splits: mnist train = the first 80 % of each class, test = the rest; fashion-mnist train = the first 6,000 of each class, test = the last 1,000; a data file is used whole.",
  );
  return addOptions(cmd, evalOptions()).action(snnAction(evalAction));
}

const evalOptions = () =>
  options([
    ["-m, --model <file>", "the checkpoint (safetensors; required)"],
    dataOption(),
    ["--split <split>", "data split", ["test", "train", "all"], "test"],
    classesOption(),
    [
      "-T, --time-steps <T>",
      `time steps for a file without x-snn-model metadata (default: ${MLP.timeSteps})`,
      integer(1, 1024),
    ],
    [
      "--connect <fn>",
      `connect function for a file without metadata (default: ${MLP.connect})`,
      ["ADD", "AND", "IAND"],
    ],
    ...neuronOptions(),
    jsonOption(),
  ]);
