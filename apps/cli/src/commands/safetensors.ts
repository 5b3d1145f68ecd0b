// `x safetensors inspect FILE|DIR` and `x safetensors convert IN OUT --dtype BF16`.

import {
  byteLengthOf,
  convertCheckpoint,
  type DType,
  isDType,
  numelOf,
  openCheckpoint,
} from "@x/tensor-core";
import { type Command, UsageError } from "../command.js";
import { formatBytes, ProgressBar } from "../progress.js";

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
  if (!isDType(d)) throw new UsageError(`unknown dtype '${s}'`);
  return d;
}

function bytesOf(dtype: DType, shape: readonly number[]): number {
  return byteLengthOf(dtype, numelOf(shape));
}

async function inspect(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const paths = argv.filter((a) => !a.startsWith("--"));
  if (paths.length !== 1) throw new UsageError("inspect needs exactly one FILE or DIR");
  const ck = await openCheckpoint(paths[0]);
  try {
    const rows = ck.names().map((name) => {
      const info = ck.info(name) as { dtype: DType; shape: readonly number[] };
      const file = ck.fileOf(name).path;
      return {
        name,
        dtype: info.dtype,
        shape: [...info.shape],
        bytes: bytesOf(info.dtype, info.shape),
        file,
      };
    });
    const total = rows.reduce((a, r) => a + r.bytes, 0);
    if (json) {
      console.log(
        JSON.stringify(
          {
            path: ck.path,
            files: ck.files.map((f) => f.path),
            metadata: ck.metadata,
            indexMetadata: ck.indexMetadata,
            totalBytes: total,
            tensors: rows,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    const byDtype = new Map<string, number>();
    for (const r of rows) byDtype.set(r.dtype, (byDtype.get(r.dtype) ?? 0) + 1);
    console.log(`${ck.path}`);
    console.log(`  files:    ${ck.files.length}${ck.files.length > 1 ? " (sharded)" : ""}`);
    console.log(
      `  tensors:  ${rows.length} (${[...byDtype].map(([d, c]) => `${c} ${d}`).join(", ")}), ${formatBytes(total)} of data`,
    );
    console.log(`  metadata: ${JSON.stringify(ck.metadata ?? {})}`);
    if (ck.indexMetadata) console.log(`  index:    ${JSON.stringify(ck.indexMetadata)}`);
    const w = Math.min(60, Math.max(4, ...rows.map((r) => r.name.length)));
    for (const r of rows) {
      const shard = ck.files.length > 1 ? `  ${r.file.split("/").pop()}` : "";
      console.log(
        `  ${r.name.padEnd(w)}  ${r.dtype.padEnd(5)}  [${r.shape.join(", ")}]  ${formatBytes(r.bytes)}${shard}`,
      );
    }
    return 0;
  } finally {
    await ck.close();
  }
}

async function convert(argv: string[]): Promise<number> {
  let dtype: DType | undefined;
  let maxShardSize: number | undefined;
  let quiet = false;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--dtype") dtype = parseDTypeArg(argv[++i] ?? "");
    else if (a.startsWith("--dtype=")) dtype = parseDTypeArg(a.slice(8));
    else if (a === "--max-shard-size") maxShardSize = parseSize(argv[++i] ?? "");
    else if (a === "--quiet") quiet = true;
    else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) throw new UsageError("convert needs IN and OUT");
  if (dtype === undefined) throw new UsageError("convert needs --dtype (BF16, F16, F32 or F64)");
  const started = Date.now();
  let bar: ProgressBar | undefined;
  const res = await convertCheckpoint(pos[0], pos[1], {
    dtype,
    maxShardSize,
    onProgress: quiet
      ? undefined
      : (done, total) => {
          bar ??= new ProgressBar({ label: "convert", total, format: formatBytes });
          bar.update(done);
        },
  });
  bar?.finish();
  const secs = (Date.now() - started) / 1000;
  console.log(
    `converted ${res.converted} of ${res.tensors} tensors to ${dtype}: ${formatBytes(res.inputBytes)} -> ${formatBytes(res.outputBytes)} in ${secs.toFixed(2)}s -> ${pos[1]}`,
  );
  return 0;
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad size '${s}' (e.g. 5GB, 500MB)`);
  const mult: Record<string, number> = {
    B: 1,
    KB: 1e3,
    MB: 1e6,
    GB: 1e9,
    TB: 1e12,
    KIB: 1024,
    MIB: 1024 ** 2,
    GIB: 1024 ** 3,
  };
  return Math.floor(Number(m[1]) * mult[(m[2] ?? "B").toUpperCase()]);
}

export const command: Command = {
  name: "safetensors",
  summary:
    "Inspect a safetensors file / model directory / sharded index (tensors, dtypes, shapes, metadata), or convert its floating-point tensors to another dtype, streaming with bounded memory.",
  usage:
    "x safetensors inspect FILE|DIR [--json]\n       x safetensors convert IN OUT --dtype BF16 [--max-shard-size 5GB] [--quiet]",
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub === "inspect") return inspect(rest);
    if (sub === "convert") return convert(rest);
    throw new UsageError(sub === undefined ? "missing sub-command" : `unknown sub-command '${sub}'`);
  },
};
