import { type LoadModelOptions, loadModel } from "../checkpoint/safetensors.js";
import {
  type BuiltinDataset,
  isBuiltinDataset,
  loadData,
  predictionsChecksum,
  type SplitName,
} from "../data/splits.js";
import { SnnCheckpointError, SnnConfigError } from "../errors.js";
import { FastSnn } from "../infer/net.js";
import type { ModelSpec } from "../model/spec.js";
import { asIs, type OptionName } from "../options.js";

export interface EvaluateOptions extends LoadModelOptions {
  /** "mnist", "fashion-mnist" or a safetensors file with `images` and `labels` (default fashion-mnist). */
  readonly data?: BuiltinDataset | string;
  /** Default "test". */
  readonly split?: SplitName;
  /** Keep only these classes, relabelled 0..k−1 (default: all). */
  readonly classes?: readonly number[];
}

/** JSON-serialisable outcome of `evaluateCheckpoint` (what `x snn eval --json` prints). */
export interface EvaluateResult {
  readonly file: string;
  readonly data: string;
  readonly split: SplitName;
  readonly classes: number[] | null;
  readonly count: number;
  readonly correct: number;
  /** Top-1 accuracy in [0, 1]. */
  readonly accuracy: number;
  /** SHA-256 of the predicted labels (one byte each, in data order). */
  readonly predictionsSha256: string;
  readonly model: ModelSpec;
  readonly elapsedMs: number;
}

/**
 * Loads a checkpoint, runs the fast inference path over a data split and reports accuracy and a predictions
 * checksum. A class a built-in data set does not have is an {@link SnnConfigError} (`name` says how the message
 * names the option).
 */
export async function evaluateCheckpoint(
  file: string,
  o: EvaluateOptions = {},
  name: OptionName = asIs,
): Promise<EvaluateResult> {
  const t0 = performance.now();
  const data = o.data ?? "fashion-mnist";
  const unknown = isBuiltinDataset(data) ? o.classes?.filter((c) => c > 9) : undefined;
  if (unknown?.length)
    throw new SnnConfigError(`${name("classes")}: ${data} has classes 0..9, not ${unknown.join(", ")}`);
  const model = await loadModel(file, o);
  const split = o.split ?? "test";
  const classes = o.classes ? [...o.classes] : null;
  const set = await loadData(data, split, classes ?? undefined);
  for (let i = 0; i < set.count; i++) {
    if (set.labels[i] >= model.spec.classes) {
      throw new SnnCheckpointError(
        file,
        `the model has ${model.spec.classes} classes but ${data} (${split}) has label ${set.labels[i]}; pass classes to select a subset`,
      );
    }
  }
  const preds = new FastSnn(model).predict(set.images, set.count);
  let correct = 0;
  for (let i = 0; i < set.count; i++) if (preds[i] === set.labels[i]) correct++;
  return {
    file,
    data,
    split,
    classes,
    count: set.count,
    correct,
    accuracy: set.count ? correct / set.count : 0,
    predictionsSha256: predictionsChecksum(preds),
    model: model.spec,
    elapsedMs: performance.now() - t0,
  };
}

/**
 * The settings of `o` for a file without a model spec (`timeSteps`, `connect`, `neuron`) that the evaluated
 * model `spec` did not follow because the file carries its own: empty when each one given matches. When one
 * differs, a given `neuron` is listed too.
 */
export function overriddenSettings(
  o: Pick<EvaluateOptions, "timeSteps" | "connect" | "neuron">,
  spec: ModelSpec,
): ("timeSteps" | "connect" | "neuron")[] {
  const differ = (["timeSteps", "connect"] as const).filter((k) => o[k] !== undefined && o[k] !== spec[k]);
  const neuron = o.neuron !== undefined;
  if (differ.length === 0 && !(neuron && JSON.stringify(o.neuron) !== JSON.stringify(spec.neuron))) return [];
  return neuron ? [...differ, "neuron"] : differ;
}
