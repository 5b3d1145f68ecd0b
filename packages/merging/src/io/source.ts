// Input checkpoints: a model directory (model.safetensors, sharded with model.safetensors.index.json,
// or PyTorch's pytorch_model.bin, sharded with pytorch_model.bin.index.json) or a single checkpoint
// file, opened lazily through @x/tensor-core (one tensor read at a time). PyTorch files are read by
// tensor-core's restricted unpickler, which accepts only tensor-rebuild globals and never runs code.

import { type FileHandle, open, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  type Checkpoint,
  CheckpointError,
  openCheckpoint,
  openPytorchCheckpoint,
  PYTORCH_INDEX_FILE,
  PYTORCH_SINGLE_FILE,
  type TensorReader,
} from "@x/tensor-core";
import { MergeInputError } from "../errors.js";
import type { StoredTensorInfo, TensorSource } from "./types.js";

/** The absolute path of a model reference; a missing path is a MergeInputError saying what is supported. */
export async function resolveModelPath(ref: string, baseDir?: string): Promise<string> {
  const abs = resolve(baseDir ?? process.cwd(), ref);
  try {
    await stat(abs);
    return abs;
  } catch {
    const hint = ref.includes("+")
      ? " (LoRA references 'model+lora' are not supported: merge the adapter into its base first)"
      : /^[\w.-]+\/[\w.-]+$/.test(ref)
        ? " (Hugging Face hub ids are not downloaded: pass a local directory)"
        : "";
    throw new MergeInputError(`model '${ref}' not found at ${abs}${hint}`);
  }
}

const isFile = (path: string) =>
  stat(path).then(
    (s) => s.isFile(),
    () => false,
  );

/**
 * A checkpoint in any format x reads: safetensors (preferred when a directory has both) or PyTorch
 * `.bin` (single or sharded).
 */
export async function openAnyCheckpoint(path: string): Promise<TensorReader> {
  if (/\.(bin|pt|pth)$/.test(path) || path.endsWith(".bin.index.json")) return openPytorchCheckpoint(path);
  const dir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (dir) {
    const safetensors =
      (await isFile(join(path, "model.safetensors.index.json"))) ||
      (await isFile(join(path, "model.safetensors")));
    const pytorch =
      (await isFile(join(path, PYTORCH_INDEX_FILE))) || (await isFile(join(path, PYTORCH_SINGLE_FILE)));
    if (pytorch && !safetensors) return openPytorchCheckpoint(path);
  }
  try {
    return await openCheckpoint(path);
  } catch (err) {
    if (err instanceof CheckpointError && err.code === "UNSUPPORTED") return openPytorchCheckpoint(path);
    throw err;
  }
}

/** Safetensors checkpoints allow ranged reads straight from the file. */
const isSafetensors = (r: TensorReader): r is Checkpoint =>
  "files" in r && (r as Checkpoint).files.every((f) => "header" in f && "entry" in f);

class CheckpointSource implements TensorSource {
  /** Own read handles per shard file for ranged reads (the reader's handle is private to tensor-core). */
  private readonly handles = new Map<string, Promise<FileHandle>>();
  readonly rangedReads: boolean;

  constructor(
    readonly label: string,
    readonly path: string,
    private readonly ckpt: TensorReader,
  ) {
    this.rangedReads = isSafetensors(ckpt);
  }

  names(): readonly string[] {
    return this.ckpt.names();
  }

  info(name: string): StoredTensorInfo | undefined {
    return this.ckpt.info(name);
  }

  readFloat32(name: string, out?: Float32Array): Promise<Float32Array> {
    return this.ckpt.readFloat32(name, out);
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.ckpt.readBytes(name);
  }

  readBytesInto(name: string, target: Uint8Array): Promise<Uint8Array> {
    return this.ckpt.readInto(name, target);
  }

  async readBytesRangeInto(name: string, byteOffset: number, target: Uint8Array): Promise<Uint8Array> {
    if (!isSafetensors(this.ckpt)) {
      // PyTorch storages may be views or compressed: read the tensor, copy the range.
      const all = await this.ckpt.readBytes(name);
      if (byteOffset < 0 || byteOffset + target.byteLength > all.byteLength) {
        throw new MergeInputError(
          `${this.label}: tensor '${name}' has ${all.byteLength} bytes, cannot read [${byteOffset}, ${byteOffset + target.byteLength})`,
        );
      }
      target.set(all.subarray(byteOffset, byteOffset + target.byteLength));
      return target;
    }
    const file = this.ckpt.fileOf(name);
    const e = file.entry(name);
    const size = e.end - e.begin;
    if (byteOffset < 0 || byteOffset + target.byteLength > size) {
      throw new MergeInputError(
        `${this.label}: tensor '${name}' has ${size} bytes, cannot read [${byteOffset}, ${byteOffset + target.byteLength})`,
      );
    }
    let fh = this.handles.get(file.path);
    if (!fh) {
      fh = open(file.path, "r");
      this.handles.set(file.path, fh);
    }
    const handle = await fh;
    const start = file.header.dataOffset + e.begin + byteOffset;
    for (let done = 0; done < target.byteLength; ) {
      // Reads of at most 1 GiB each (the platform limit is a little under 2 GiB).
      const want = Math.min(1 << 30, target.byteLength - done);
      const { bytesRead } = await handle.read(target, done, want, start + done);
      if (bytesRead === 0) {
        throw new MergeInputError(
          `${file.path}: file ended inside tensor '${name}' (at byte ${start + done})`,
        );
      }
      done += bytesRead;
    }
    return target;
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    for (const fh of handles) await (await fh).close();
    await this.ckpt.close();
  }
}

/**
 * Opens a model reference (directory, safetensors file or index, PyTorch `.bin` file or index) as a
 * lazily read tensor source.
 */
export async function openModel(ref: string, baseDir?: string): Promise<TensorSource> {
  const path = await resolveModelPath(ref, baseDir);
  return new CheckpointSource(ref, path, await openAnyCheckpoint(path));
}
