// A PyTorch checkpoint as Hugging Face ships it: one `pytorch_model.bin`, or shards listed by
// `pytorch_model.bin.index.json` (`weight_map`: tensor → shard file), read through one name space.
// Every shard's pickle is read and validated on open; each keeps one file handle until `close()`.

import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize } from "node:path";
import type { TensorReader } from "../safetensors/reader.js";
import { type LazyTensor, StateDict, type TensorInfo } from "../state-dict.js";
import type { Tensor } from "../tensor.js";
import { PytorchError } from "./errors.js";
import { type OpenPytorchOptions, PytorchFile } from "./reader.js";

export const PYTORCH_SINGLE_FILE = "pytorch_model.bin";
export const PYTORCH_INDEX_FILE = "pytorch_model.bin.index.json";

/** Index files larger than this are rejected before parsing. */
const MAX_INDEX_BYTES = 256 << 20;

/** One or more PyTorch checkpoint files read as one state dict. */
export class PytorchCheckpoint implements TensorReader {
  readonly path: string;
  readonly files: readonly PytorchFile[];
  /** The index's `metadata` object for sharded checkpoints, else null. */
  readonly indexMetadata: Readonly<Record<string, unknown>> | null;
  readonly #fileOf: Map<string, PytorchFile>;
  readonly #names: string[];

  constructor(
    path: string,
    files: readonly PytorchFile[],
    fileOf: Map<string, PytorchFile>,
    names: string[],
    indexMetadata: Record<string, unknown> | null,
  ) {
    this.path = path;
    this.files = files;
    this.#fileOf = fileOf;
    this.#names = names;
    this.indexMetadata = indexMetadata;
  }

  get metadata(): Readonly<Record<string, string>> | null {
    return null;
  }

  names(): string[] {
    return [...this.#names];
  }

  has(name: string): boolean {
    return this.#fileOf.has(name);
  }

  info(name: string): TensorInfo | undefined {
    return this.#fileOf.get(name)?.info(name);
  }

  fileOf(name: string): PytorchFile {
    const f = this.#fileOf.get(name);
    if (f === undefined)
      throw new PytorchError("NOT_FOUND", this.path, "no such tensor in this checkpoint", name);
    return f;
  }

  /** Groups of names sharing a storage within one file (tied weights, views). */
  sharedStorages(): string[][] {
    return this.files.flatMap((f) =>
      f.sharedStorages().map((g) => g.filter((n) => this.#fileOf.get(n) === f)),
    );
  }

  read(name: string): Promise<Tensor> {
    return this.fileOf(name).read(name);
  }

  readFloat32(name: string, out?: Float32Array): Promise<Float32Array> {
    return this.fileOf(name).readFloat32(name, out);
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.fileOf(name).readBytes(name);
  }

  readInto<T extends ArrayBufferView>(name: string, target: T): Promise<T> {
    return this.fileOf(name).readInto(name, target);
  }

  readChunks(name: string, chunkBytes?: number, buffer?: Uint8Array): AsyncGenerator<Uint8Array> {
    return this.fileOf(name).readChunks(name, chunkBytes, buffer);
  }

  lazy(name: string): LazyTensor {
    return this.fileOf(name).lazy(name);
  }

  stateDict(): StateDict {
    return new StateDict(this.#names.map((n) => [n, this.lazy(n)] as const));
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

async function kindOf(path: string): Promise<"file" | "dir" | "missing"> {
  try {
    return (await stat(path)).isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

async function fromSingle(path: string, options?: OpenPytorchOptions): Promise<PytorchCheckpoint> {
  const f = await PytorchFile.open(path, options);
  const names = f.names();
  return new PytorchCheckpoint(path, [f], new Map(names.map((n) => [n, f])), names, null);
}

async function fromIndex(indexPath: string, options?: OpenPytorchOptions): Promise<PytorchCheckpoint> {
  const s = await stat(indexPath);
  if (s.size > MAX_INDEX_BYTES) {
    throw new PytorchError(
      "FORMAT",
      indexPath,
      `index is ${s.size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`,
    );
  }
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (cause) {
    throw new PytorchError(
      "FORMAT",
      indexPath,
      `index is not valid JSON: ${(cause as Error).message}`,
      undefined,
      {
        cause,
      },
    );
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new PytorchError("FORMAT", indexPath, "index has no weight_map object");
  }
  const meta = (index as { metadata?: unknown }).metadata;
  const indexMetadata =
    typeof meta === "object" && meta !== null && !Array.isArray(meta)
      ? (meta as Record<string, unknown>)
      : null;
  const byShard = new Map<string, string[]>();
  for (const [tensor, file] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof file !== "string" || file.length === 0) {
      throw new PytorchError("FORMAT", indexPath, "weight_map value must be a shard file name", tensor);
    }
    const n = normalize(file);
    if (isAbsolute(file) || n.startsWith("..") || n.includes("\0")) {
      throw new PytorchError(
        "FORMAT",
        indexPath,
        `shard path ${JSON.stringify(file)} escapes the checkpoint directory`,
        tensor,
      );
    }
    const list = byShard.get(n);
    if (list === undefined) byShard.set(n, [tensor]);
    else list.push(tensor);
  }
  const shardNames = [...byShard.keys()].sort();
  const files: PytorchFile[] = [];
  const fileOf = new Map<string, PytorchFile>();
  const names: string[] = [];
  try {
    for (const shard of shardNames) {
      const f = await PytorchFile.open(join(dirname(indexPath), shard), options);
      files.push(f);
      const wanted = new Set(byShard.get(shard));
      for (const t of wanted) {
        if (!f.has(t)) {
          throw new PytorchError(
            "FORMAT",
            indexPath,
            `weight_map says it is in ${shard}, which does not contain it`,
            t,
          );
        }
      }
      for (const n of f.names()) {
        if (!wanted.has(n)) continue;
        fileOf.set(n, f);
        names.push(n);
      }
    }
  } catch (err) {
    await Promise.all(files.map((f) => f.close()));
    throw err;
  }
  return new PytorchCheckpoint(indexPath, files, fileOf, names, indexMetadata);
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
