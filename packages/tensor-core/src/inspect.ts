// What `x safetensors inspect` shows of a checkpoint: its files, metadata and every tensor's dtype, shape and size.
import { byteLengthOf, type DType, numelOf } from "./dtype.js";
import { formatBytes } from "./format.js";
import { isPytorchCheckpoint, openPytorchCheckpoint } from "./pytorch/index.js";
import { openCheckpoint } from "./safetensors/index.js";

/** One tensor of a checkpoint: its name, dtype, shape, bytes of data and the file holding it. */
export interface CheckpointTensorRow {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: number[];
  readonly bytes: number;
  readonly file: string;
}

/** A checkpoint's layout as JSON-ready data. */
export interface CheckpointDescription {
  readonly path: string;
  readonly format: "pytorch" | "safetensors";
  readonly files: string[];
  readonly metadata: Readonly<Record<string, string>> | null;
  readonly indexMetadata: Readonly<Record<string, unknown>> | null;
  readonly totalBytes: number;
  readonly tensors: CheckpointTensorRow[];
}

/**
 * The layout of a safetensors or PyTorch checkpoint (a file, a model directory or a sharded index), read from its
 * headers; a PyTorch pickle is read by the restricted unpickler, never executed.
 */
export async function inspectCheckpoint(path: string): Promise<CheckpointDescription> {
  const pytorch = isPytorchCheckpoint(path);
  const ck = pytorch ? await openPytorchCheckpoint(path) : await openCheckpoint(path);
  try {
    const tensors = ck.names().map((name) => {
      const info = ck.info(name) as { dtype: DType; shape: readonly number[] };
      const bytes = byteLengthOf(info.dtype, numelOf(info.shape));
      return { name, dtype: info.dtype, shape: [...info.shape], bytes, file: ck.fileOf(name).path };
    });
    return {
      path: ck.path,
      format: pytorch ? "pytorch" : "safetensors",
      files: ck.files.map((f) => f.path),
      metadata: ck.metadata,
      indexMetadata: ck.indexMetadata,
      totalBytes: tensors.reduce((a, r) => a + r.bytes, 0),
      tensors,
    };
  } finally {
    await ck.close();
  }
}

/** The description as text: format, files, tensor counts by dtype, metadata, then one line per tensor. */
export function formatCheckpointDescription(d: CheckpointDescription): string {
  const byDtype = new Map<string, number>();
  for (const r of d.tensors) byDtype.set(r.dtype, (byDtype.get(r.dtype) ?? 0) + 1);
  // A loop, not Math.max(...rows): a checkpoint may hold hundreds of thousands of tensors.
  let w = 4;
  for (const r of d.tensors) w = Math.max(w, Math.min(60, r.name.length));
  const sharded = d.files.length > 1;
  const lines = [
    d.path,
    `  format:   ${d.format === "pytorch" ? "PyTorch (read without executing its pickle)" : "safetensors"}`,
    `  files:    ${d.files.length}${sharded ? " (sharded)" : ""}`,
    `  tensors:  ${d.tensors.length} (${[...byDtype].map(([t, c]) => `${c} ${t}`).join(", ")}), ${formatBytes(d.totalBytes)} of data`,
    `  metadata: ${JSON.stringify(d.metadata ?? {})}`,
    ...(d.indexMetadata ? [`  index:    ${JSON.stringify(d.indexMetadata)}`] : []),
  ];
  for (const r of d.tensors) {
    const shard = sharded ? `  ${r.file.split("/").pop()}` : "";
    lines.push(
      `  ${r.name.padEnd(w)}  ${r.dtype.padEnd(5)}  [${r.shape.join(", ")}]  ${formatBytes(r.bytes)}${shard}`,
    );
  }
  return lines.join("\n");
}
