// `x safetensors inspect FILE|DIR` and `x safetensors convert IN OUT --dtype BF16`; both read PyTorch checkpoints
// too (pytorch_model.bin, a sharded *.bin.index.json, a model directory of them) through the restricted
// unpickler of @x/tensor-core, which never executes a pickle.
import {
  convertCheckpoint,
  convertPytorchToSafetensors,
  type DType,
  dtypeFromName,
  formatBytes,
  formatCheckpointDescription,
  inspectCheckpoint,
  isPytorchCheckpoint,
} from "@x/tensor-core";
import { type Command, InvalidArgumentError } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  defineGroup,
  jsonOption,
  type OptionsOf,
  options,
  outputOptions,
  printResult,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

/** Accepts safetensors names (BF16) and torch/mergekit names (bfloat16, torch.float16). */
function parseDTypeArg(s: string): DType {
  const d = dtypeFromName(s);
  if (!d) throw new InvalidArgumentError(`unknown dtype '${s}' (e.g. BF16, F16, F32, bfloat16)`);
  return d;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB)?$/i;
const UNIT: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
};

function size(s: string): number {
  const m = SIZE.exec(s.trim());
  if (!m) throw new InvalidArgumentError(`bad size '${s}' (e.g. 5GB, 500MB)`);
  return Math.floor(Number(m[1]) * UNIT[(m[2] ?? "B").toUpperCase()]!);
}

const inspectOptions = () => options([jsonOption()]);

async function inspect(path: string, o: OptionsOf<ReturnType<typeof inspectOptions>>): Promise<void> {
  const doc = await inspectCheckpoint(path);
  printResult(o.json, doc, () => formatCheckpointDescription(doc));
}

const convertOptions = () =>
  options([
    [
      "--dtype <dtype>",
      "target dtype: BF16, F16, F32 or F64 (torch names accepted); required for a safetensors input",
      parseDTypeArg,
    ],
    ["--max-shard-size <size>", "largest output shard, e.g. 2GB (default: the writer's)", size],
    ...outputOptions(),
  ]);
type ConvertOpts = OptionsOf<ReturnType<typeof convertOptions>>;

async function convert(input: string, out: string, o: ConvertOpts): Promise<void> {
  const pytorch = isPytorchCheckpoint(input);
  if (!pytorch && o.dtype === undefined)
    throw new UsageError(
      "required option '--dtype <dtype>' not specified (a safetensors input is converted to another dtype; a PyTorch .bin input keeps its dtypes without it)",
    );
  checkOutput(out, { overwrite: o.overwrite, inputs: [input] });
  const started = Date.now();
  const progress = createProgress(o.quiet === true || o.json === true);
  try {
    if (pytorch) {
      const res = await convertPytorchToSafetensors(input, out, {
        dtype: o.dtype,
        maxShardSize: o.maxShardSize,
        overwrite: o.overwrite,
        onProgress: (done, total) => progress.update("convert", done, total, "", formatBytes),
      });
      progress.finish();
      const seconds = (Date.now() - started) / 1000;
      printResult(
        o.json,
        { input, out, format: "pytorch", dtype: o.dtype ?? null, ...res, seconds },
        () =>
          `converted the PyTorch checkpoint's ${res.tensors} tensors${o.dtype ? ` to ${o.dtype}` : ""}: ${formatBytes(res.totalSize)} in ${res.files.length} safetensors file${res.files.length === 1 ? "" : "s"}${res.copied.length > 0 ? `, ${res.copied.length} other files copied` : ""}${res.sharedStorages.length > 0 ? `, ${res.sharedStorages.length} tied group(s) written as copies` : ""} in ${seconds.toFixed(2)}s -> ${out}`,
      );
      return;
    }
    const dtype = o.dtype as DType;
    const res = await convertCheckpoint(input, out, {
      dtype,
      maxShardSize: o.maxShardSize,
      onProgress: (done, total) => progress.update("convert", done, total, "", formatBytes),
    });
    progress.finish();
    const seconds = (Date.now() - started) / 1000;
    printResult(
      o.json,
      { input, out, format: "safetensors", dtype, ...res, seconds },
      () =>
        `converted ${res.converted} of ${res.tensors} tensors to ${dtype}: ${formatBytes(res.inputBytes)} -> ${formatBytes(res.outputBytes)} in ${seconds.toFixed(2)}s -> ${out}`,
    );
  } finally {
    progress.stop();
  }
}

export function build(): Command {
  const inspectCmd = defineCommand(
    "inspect",
    "tensors, dtypes, shapes and metadata of a safetensors or PyTorch .bin checkpoint (file, model directory or sharded index)",
    [
      "x safetensors inspect model.safetensors",
      "x safetensors inspect model-dir/ --json",
      "x safetensors inspect pytorch_model.bin",
    ],
  )
    .description(
      "Lists a checkpoint's tensors, dtypes, shapes and metadata. PyTorch checkpoints (pytorch_model.bin, *.bin.index.json, a directory of .bin shards) are read by a restricted unpickler that accepts only what rebuilding tensors needs and never executes the pickle: a file that asks for anything else (e.g. os.system) is refused with one error line naming it (exit 1).",
    )
    .argument(
      "<path>",
      "a .safetensors or .bin file, a model directory, or a sharded index (.safetensors.index.json / .bin.index.json)",
    );
  addOptions(inspectCmd, inspectOptions()).action(inspect);
  const convertCmd = defineCommand(
    "convert",
    "convert a checkpoint's float tensors to another dtype, or a PyTorch .bin checkpoint to safetensors, streaming",
    [
      "x safetensors convert model/ model-bf16/ --dtype BF16",
      "x safetensors convert in/ out/ --dtype F16 --max-shard-size 2GB",
      "x safetensors convert pytorch_model.bin model/",
      "x safetensors convert llama-bin/pytorch_model.bin.index.json llama/ --dtype BF16",
    ],
  )
    .description(
      "Converts a safetensors checkpoint's floating-point tensors to --dtype, or a PyTorch checkpoint (pytorch_model.bin, a sharded *.bin.index.json, or a model directory holding them) to safetensors (model.safetensors, or shards plus model.safetensors.index.json), keeping each dtype unless --dtype is given and copying the directory's other files (config, tokenizer). One tensor in memory at a time; output files appear only when complete. PyTorch pickles are never executed: a file asking for anything beyond tensor rebuilding is refused with one error line (exit 1) and nothing is written.",
    )
    .argument("<in>", "input checkpoint: safetensors or PyTorch .bin (file, directory or index)")
    .argument("<out>", "output directory");
  addOptions(convertCmd, convertOptions()).action(convert);
  return defineGroup(
    "safetensors",
    "inspect a checkpoint (safetensors or PyTorch .bin), convert dtypes or .bin to safetensors, streaming",
    ["x safetensors inspect model/", "x safetensors convert model/ model-bf16/ --dtype BF16"],
    [inspectCmd, convertCmd],
  );
}
