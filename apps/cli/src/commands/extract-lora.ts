/**
 * `x extract-lora --model DIR --base DIR --out DIR [--rank R] [--sv-epsilon E] ...`: a PEFT LoRA adapter from a
 * fine-tuned model and its base (@x/merging's extractLora, as mergekit-extract-lora): per linear layer, the
 * truncated SVD of the weight change, streamed one layer at a time.
 */
import { extractLora, formatLoraExtraction } from "@x/merging";
import { type DType, dtypeFromName } from "@x/tensor-core";
import { type Command, InvalidArgumentError } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  integer,
  mandatory,
  number,
  type OptionsOf,
  options,
  outputOptions,
  printResult,
} from "../kit.js";
import { createProgress } from "../progress.js";

type ExtractOpts = OptionsOf<ReturnType<typeof extractOptions>>;

function factorDtype(s: string): DType {
  const d = dtypeFromName(s);
  if (!d || !["F32", "F16", "BF16"].includes(d))
    throw new InvalidArgumentError(`expected F32, F16 or BF16, got '${s}'`);
  return d;
}

function regex(s: string): string {
  try {
    new RegExp(s);
  } catch (e) {
    throw new InvalidArgumentError(`bad regular expression '${s}': ${(e as Error).message}`);
  }
  return s;
}

async function extractAction(o: ExtractOpts): Promise<void> {
  checkOutput(o.out, { overwrite: o.overwrite, inputs: [o.model, o.base] });
  const started = Date.now();
  const progress = createProgress(o.quiet === true || o.json === true);
  try {
    const r = await extractLora({
      model: o.model,
      base: o.base,
      out: o.out,
      rank: o.rank,
      svEpsilon: o.svEpsilon,
      distributeScale: o.distributeScale,
      embedLora: o.embedLora,
      modulesToSave: o.modulesToSave,
      include: o.include,
      exclude: o.exclude,
      skipUndecomposable: o.skipUndecomposable,
      dtype: o.dtype,
      baseModelName: o.baseModelName,
      overwrite: o.overwrite,
      onProgress: (e) => progress.update("extract-lora", e.done, e.total, e.module),
    });
    progress.finish();
    const seconds = (Date.now() - started) / 1000;
    printResult(o.json, { ...r, seconds }, () => formatLoraExtraction(r, seconds));
  } finally {
    progress.stop();
  }
}

export function build(): Command {
  const cmd = defineCommand(
    "extract-lora",
    "extract a PEFT LoRA adapter from a fine-tuned model and its base (per-module truncated SVD of model − base)",
    [
      "x extract-lora --model finetuned/ --base base/ --out adapter/ --rank 32",
      "x extract-lora --model ft/ --base base/ --out adapter/ --rank 64 --sv-epsilon 1e-3 --json",
      "x extract-lora --model ft/pytorch_model.bin --base base/ --out adapter/ --modules-to-save lm_head",
    ],
  ).description(
    "Writes OUT/adapter_model.safetensors and OUT/adapter_config.json in the layout PEFT loads (PeftModel.from_pretrained(base, OUT)), as mergekit-extract-lora does: for each linear layer, the weight change Δ = W_model − W_base truncated to rank R by a randomized SVD (error ≤ 1 % above the optimal truncation; each module's relative error ‖Δ − B·A‖/‖Δ‖ is reported), one layer in memory at a time. Embeddings and lm_head, and modules without a LoRA form (norms), are saved at full rank unless --embed-lora / --skip-undecomposable. Reads safetensors and PyTorch .bin checkpoints (never executing their pickles). The output appears only when complete.",
  );
  return addOptions(cmd, extractOptions()).action(extractAction);
}

const regexes = (v: string, prev: string[] = []) => [...prev, regex(v)];

const extractOptions = () =>
  options([
    mandatory(["--model <path>", "the fine-tuned model (directory, safetensors file, .bin or index)"]),
    mandatory(["--base <path>", "its base model (same layout)"]),
    mandatory(["--out <dir>", "output directory of the adapter"]),
    ["--rank <r>", "largest rank per module (mergekit's --max-rank)", integer(1, 1 << 20), 128],
    [
      "--sv-epsilon <e>",
      "keep only singular values above this (0 = keep --rank); lowers ranks of small changes",
      number(0),
      0,
    ],
    ["--embed-lora", "decompose the embeddings too instead of saving them at full rank"],
    [
      "--modules-to-save <name...>",
      "modules saved at full rank (full names or last components, e.g. lm_head)",
    ],
    ["--include <regex...>", "only modules matching one of these are decomposed", regexes],
    ["--exclude <regex...>", "leave out modules matching one of these", regexes],
    [
      "--skip-undecomposable",
      "leave out modules without a LoRA form (norms) instead of saving them at full rank",
    ],
    ["--dtype <dtype>", "dtype of the factors: F32, F16 or BF16 (default: each weight's own)", factorDtype],
    ["--no-distribute-scale", "put the singular values into A instead of √σ into both factors"],
    ["--base-model-name <name>", "base_model_name_or_path written to adapter_config.json (default: --base)"],
    ...outputOptions(),
  ]);
