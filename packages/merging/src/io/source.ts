// Input checkpoints: a model directory (model.safetensors, or sharded with model.safetensors.index.json)
// or a single .safetensors file, opened lazily through @x/tensor-core (one tensor read at a time).

import { type FileHandle, open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { type Checkpoint, openCheckpoint } from "@x/tensor-core";
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

class CheckpointSource implements TensorSource {
  /** Own read handles per shard file for ranged reads (the reader's handle is private to tensor-core). */
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(
    readonly label: string,
    readonly path: string,
    private readonly ckpt: Checkpoint,
  ) {}

  names(): readonly string[] {
    return this.ckpt.names();
  }

  info(name: string): StoredTensorInfo | undefined {
    return this.ckpt.info(name);
  }

  readFloat32(name: string, out?: Float32Array): Promise<Float32Array> {
    return this.ckpt.fileOf(name).readFloat32(name, out);
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.ckpt.readBytes(name);
  }

  readBytesInto(name: string, target: Uint8Array): Promise<Uint8Array> {
    return this.ckpt.readInto(name, target);
  }

  async readBytesRangeInto(name: string, byteOffset: number, target: Uint8Array): Promise<Uint8Array> {
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

/** Opens a model reference (directory or .safetensors file) as a lazily read tensor source. */
export async function openModel(ref: string, baseDir?: string): Promise<TensorSource> {
  const path = await resolveModelPath(ref, baseDir);
  return new CheckpointSource(ref, path, await openCheckpoint(path));
}
