// `x safetensors inspect FILE|DIR` and `x safetensors convert IN OUT --dtype BF16`.
import {
  byteLengthOf,
  convertCheckpoint,
  type DType,
  isDType,
  numelOf,
  openCheckpoint,
} from "@x/tensor-core";
import { type Command, InvalidArgumentError } from "commander";
import {
  checkOutput,
  defineCommand,
  defineGroup,
  jsonOption,
  overwriteOption,
  printResult,
  quietOption,
} from "../kit.js";
import { createProgress, formatBytes } from "../progress.js";

const DTYPE_ALIASES: Record<string, DType> = {
  bfloat16: "BF16",
  float16: "F16",
  half: "F16",
  fp16: "F16",
  fp32: "F32",
  fp64: "F64",
  float32: "F32",
  float: "F32",
  float64: "F64",
  double: "F64",
};

/** Accepts safetensors names (BF16) and torch/mergekit names (bfloat16, torch.float16). */
export function parseDTypeArg(s: string): DType {
  const key = s.replace(/^torch\./, "");
  const d = DTYPE_ALIASES[key.toLowerCase()] ?? key.toUpperCase();
  if (!isDType(d)) throw new InvalidArgumentError(`unknown dtype '${s}' (e.g. BF16, F16, F32, bfloat16)`);
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

async function inspect(path: string, o: { json?: boolean }): Promise<void> {
  const ck = await openCheckpoint(path);
  try {
    const rows = ck.names().map((name) => {
      const info = ck.info(name) as { dtype: DType; shape: readonly number[] };
      const bytes = byteLengthOf(info.dtype, numelOf(info.shape));
      return { name, dtype: info.dtype, shape: [...info.shape], bytes, file: ck.fileOf(name).path };
    });
    const totalBytes = rows.reduce((a, r) => a + r.bytes, 0);
    const doc = {
      path: ck.path,
      files: ck.files.map((f) => f.path),
      metadata: ck.metadata,
      indexMetadata: ck.indexMetadata,
      totalBytes,
      tensors: rows,
    };
    printResult(o.json, doc, () => {
      const byDtype = new Map<string, number>();
      for (const r of rows) byDtype.set(r.dtype, (byDtype.get(r.dtype) ?? 0) + 1);
      // A loop, not Math.max(...rows): a checkpoint may hold hundreds of thousands of tensors.
      let w = 4;
      for (const r of rows) w = Math.max(w, Math.min(60, r.name.length));
      const lines = [
        ck.path,
        `  files:    ${ck.files.length}${ck.files.length > 1 ? " (sharded)" : ""}`,
        `  tensors:  ${rows.length} (${[...byDtype].map(([d, c]) => `${c} ${d}`).join(", ")}), ${formatBytes(totalBytes)} of data`,
        `  metadata: ${JSON.stringify(ck.metadata ?? {})}`,
        ...(ck.indexMetadata ? [`  index:    ${JSON.stringify(ck.indexMetadata)}`] : []),
      ];
      for (const r of rows) {
        const shard = ck.files.length > 1 ? `  ${r.file.split("/").pop()}` : "";
        lines.push(
          `  ${r.name.padEnd(w)}  ${r.dtype.padEnd(5)}  [${r.shape.join(", ")}]  ${formatBytes(r.bytes)}${shard}`,
        );
      }
      return lines.join("\n");
    });
  } finally {
    await ck.close();
  }
}

interface ConvertOpts {
  dtype: DType;
  maxShardSize?: number;
  overwrite?: boolean;
  quiet?: boolean;
  json?: boolean;
}

async function convert(input: string, out: string, o: ConvertOpts): Promise<void> {
  checkOutput(out, { overwrite: o.overwrite, inputs: [input] });
  const started = Date.now();
  const progress = createProgress(o.quiet === true || o.json === true);
  try {
    const res = await convertCheckpoint(input, out, {
      dtype: o.dtype,
      maxShardSize: o.maxShardSize,
      onProgress: (done, total) => progress.update("convert", done, total, "", formatBytes),
    });
    progress.finish();
    const seconds = (Date.now() - started) / 1000;
    printResult(
      o.json,
      { input, out, dtype: o.dtype, ...res, seconds },
      () =>
        `converted ${res.converted} of ${res.tensors} tensors to ${o.dtype}: ${formatBytes(res.inputBytes)} -> ${formatBytes(res.outputBytes)} in ${seconds.toFixed(2)}s -> ${out}`,
    );
  } finally {
    progress.stop();
  }
}

export function build(): Command {
  const inspectCmd = defineCommand(
    "inspect",
    "tensors, dtypes, shapes and metadata of a safetensors file, model directory or sharded index",
    ["x safetensors inspect model.safetensors", "x safetensors inspect model-dir/ --json"],
  )
    .argument("<path>", "a .safetensors file, a model directory or a .safetensors.index.json")
    .addOption(jsonOption())
    .action(inspect);
  const convertCmd = defineCommand(
    "convert",
    "convert the floating-point tensors of a checkpoint to another dtype, streaming with bounded memory",
    [
      "x safetensors convert model/ model-bf16/ --dtype BF16",
      "x safetensors convert in/ out/ --dtype F16 --max-shard-size 2GB",
    ],
  )
    .argument("<in>", "input checkpoint (file, directory or index)")
    .argument("<out>", "output directory")
    .requiredOption(
      "--dtype <dtype>",
      "target dtype: BF16, F16, F32 or F64 (torch names accepted)",
      parseDTypeArg,
    )
    .option("--max-shard-size <size>", "largest output shard, e.g. 2GB (default: the writer's)", size)
    .addOption(overwriteOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(convert);
  return defineGroup(
    "safetensors",
    "inspect a checkpoint, convert its dtypes with streaming I/O",
    ["x safetensors inspect model/", "x safetensors convert model/ model-bf16/ --dtype BF16"],
    [inspectCmd, convertCmd],
  );
}
