// A PyTorch checkpoint as Hugging Face ships it: one `pytorch_model.bin`, or shards listed by
// `pytorch_model.bin.index.json` (`weight_map`: tensor → shard file), read through one name space (the
// index is read and validated like a safetensors one). Every shard's pickle is read and validated on
// open; each keeps one file handle until `close()`.

import { readdirSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { kindOf, MultiFileReader, openShards, readShardIndex } from "../safetensors/checkpoint.js";
import { PytorchError } from "./errors.js";
import { type OpenPytorchOptions, PytorchFile } from "./reader.js";

export const PYTORCH_SINGLE_FILE = "pytorch_model.bin";
export const PYTORCH_INDEX_FILE = "pytorch_model.bin.index.json";

/** One or more PyTorch checkpoint files read as one state dict. */
export class PytorchCheckpoint extends MultiFileReader<PytorchFile> {
  /** Groups of names sharing a storage within one file (tied weights, views). */
  sharedStorages(): string[][] {
    const own = new Set(this.names());
    return this.files.flatMap((f) =>
      f.sharedStorages().map((g) => g.filter((n) => own.has(n) && this.fileOf(n) === f)),
    );
  }
}

async function fromSingle(path: string, options?: OpenPytorchOptions): Promise<PytorchCheckpoint> {
  const f = await PytorchFile.open(path, options);
  const names = f.names();
  return new PytorchCheckpoint(path, [f], new Map(names.map((n) => [n, f])), names, null);
}

async function fromIndex(indexPath: string, options?: OpenPytorchOptions): Promise<PytorchCheckpoint> {
  const index = await readShardIndex(indexPath);
  const r = await openShards(indexPath, index, (path) => PytorchFile.open(path, options));
  return new PytorchCheckpoint(indexPath, r.files, r.fileOf, r.names, index.indexMetadata);
}

/**
 * Opens a PyTorch checkpoint: a `.bin` / `.pt` / `.pth` file, a `*.bin.index.json`, or a model directory
 * holding `pytorch_model.bin.index.json`, `pytorch_model.bin`, or exactly one other `*.bin` file.
 */
export async function openPytorchCheckpoint(
  path: string,
  options?: OpenPytorchOptions,
): Promise<PytorchCheckpoint> {
  const kind = await kindOf(path);
  if (kind === "missing") throw new PytorchError("NOT_FOUND", path, "no such file or directory");
  if (kind === "file")
    return path.endsWith(".index.json") ? fromIndex(path, options) : fromSingle(path, options);
  const index = join(path, PYTORCH_INDEX_FILE);
  if ((await kindOf(index)) === "file") return fromIndex(index, options);
  const single = join(path, PYTORCH_SINGLE_FILE);
  if ((await kindOf(single)) === "file") return fromSingle(single, options);
  const bins = (await readdir(path)).filter((e) => e.endsWith(".bin"));
  if (bins.length === 1) return fromSingle(join(path, bins[0]), options);
  throw new PytorchError(
    "NOT_FOUND",
    path,
    bins.length > 1
      ? `${bins.length} .bin files but no ${PYTORCH_INDEX_FILE}`
      : `no ${PYTORCH_SINGLE_FILE} or ${PYTORCH_INDEX_FILE}`,
  );
}

/**
 * Whether `path` names a PyTorch checkpoint rather than a safetensors one: a `.bin` / `.pt` / `.pth` file, a
 * `*.bin.index.json`, or a directory with `.bin` files (or their index) and no safetensors. Nothing is opened.
 */
export function isPytorchCheckpoint(path: string): boolean {
  if (/\.(bin|pt|pth)$/.test(path) || path.endsWith(".bin.index.json")) return true;
  try {
    if (!statSync(path).isDirectory()) return false;
    const entries = readdirSync(path);
    if (entries.some((e) => e.endsWith(".safetensors") || e.endsWith(".safetensors.index.json")))
      return false;
    return entries.some((e) => e.endsWith(".bin") || e.endsWith(".bin.index.json"));
  } catch {
    return false;
  }
}
