// Opening a checkpoint given as a single safetensors file, a model directory, or a sharded index
// (`model.safetensors.index.json`, whose `weight_map` maps tensor -> shard file). Every shard is opened and
// validated up front and keeps one open handle until `close()`. PyTorch checkpoints (`pytorch_model.bin`) are
// read by ../pytorch (openPytorchCheckpoint), not here.

import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize } from "node:path";
import { CheckpointError, SafetensorsError } from "../errors.js";
import type { LazyTensor, StateDict as StateDictType, TensorInfo } from "../state-dict.js";
import { StateDict } from "../state-dict.js";
import type { Tensor } from "../tensor.js";
import {
  type OpenSafetensorsOptions,
  openSafetensors,
  type SafetensorsFile,
  type TensorReader,
} from "./reader.js";
import { INDEX_FILE_NAME, SINGLE_FILE_NAME } from "./sharded.js";

/** Index files larger than this are rejected before parsing (real ones are well under 10 MB). */
const MAX_INDEX_BYTES = 256 << 20;

/**
 * Tensors spread over one or more files (of one format), read through one name space: the shards of a
 * sharded checkpoint. Every file keeps one open handle until `close()`.
 */
export class MultiFileReader<F extends TensorReader> implements TensorReader {
  readonly path: string;
  /** Shard files in the order their tensors are listed. */
  readonly files: readonly F[];
  /** The index's `metadata` object for sharded checkpoints, else null. */
  readonly indexMetadata: Readonly<Record<string, unknown>> | null;
  readonly #fileOf: Map<string, F>;
  readonly #names: string[];

  constructor(
    path: string,
    files: readonly F[],
    fileOf: Map<string, F>,
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
    return this.files[0]?.metadata ?? null;
  }

  /** Names shard by shard, each in data-offset order (sequential disk access when read in this order). */
  names(): string[] {
    return [...this.#names];
  }

  has(name: string): boolean {
    return this.#fileOf.has(name);
  }

  info(name: string): TensorInfo | undefined {
    return this.#fileOf.get(name)?.info(name);
  }

  /** The open file holding `name`. */
  fileOf(name: string): F {
    const f = this.#fileOf.get(name);
    if (f === undefined)
      throw new CheckpointError("MISSING_TENSOR", this.path, "no such tensor in this checkpoint", name);
    return f;
  }

  read(name: string): Promise<Tensor> {
    return this.fileOf(name).read(name);
  }

  readFloat32(name: string, out?: Float32Array): Promise<Float32Array> {
    return this.fileOf(name).readFloat32(name, out);
  }

  readInto<T extends ArrayBufferView>(name: string, target: T): Promise<T> {
    return this.fileOf(name).readInto(name, target);
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.fileOf(name).readBytes(name);
  }

  readChunks(name: string, chunkBytes?: number, buffer?: Uint8Array): AsyncGenerator<Uint8Array> {
    return this.fileOf(name).readChunks(name, chunkBytes, buffer);
  }

  lazy(name: string): LazyTensor {
    return this.fileOf(name).lazy(name);
  }

  stateDict(): StateDictType {
    return new StateDict(this.#names.map((n) => [n, this.lazy(n)] as const));
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

/** A checkpoint of one or more safetensors files read through one name space. */
export class Checkpoint extends MultiFileReader<SafetensorsFile> {}

/** Whether `path` is a file, a directory or missing. */
export async function kindOf(path: string): Promise<"file" | "dir" | "missing"> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

async function fromSingle(path: string, options?: OpenSafetensorsOptions): Promise<Checkpoint> {
  const f = await openSafetensors(path, options);
  const names = f.names();
  return new Checkpoint(path, [f], new Map(names.map((n) => [n, f])), names, null);
}

function checkShardName(indexPath: string, tensor: string, file: unknown): string {
  if (typeof file !== "string" || file.length === 0) {
    throw new CheckpointError("INDEX", indexPath, "weight_map value must be a shard file name", tensor);
  }
  // Shards must live next to the index: no absolute paths or parent-directory escapes.
  const n = normalize(file);
  if (isAbsolute(file) || n.startsWith("..") || n.includes("\0")) {
    throw new CheckpointError(
      "INDEX",
      indexPath,
      `shard path ${JSON.stringify(file)} escapes the checkpoint directory`,
      tensor,
    );
  }
  return n;
}

/** A sharded index's `weight_map` grouped by shard (shards sorted by name), and its `metadata`. */
export interface ShardIndex {
  readonly shards: readonly (readonly [shard: string, tensors: readonly string[]])[];
  readonly indexMetadata: Record<string, unknown> | null;
}

/** Reads and validates a `*.index.json` (size limit, JSON, `weight_map`, shard names inside the directory). */
export async function readShardIndex(indexPath: string): Promise<ShardIndex> {
  const s = await stat(indexPath);
  if (s.size > MAX_INDEX_BYTES)
    throw new CheckpointError(
      "INDEX",
      indexPath,
      `index is ${s.size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`,
    );
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (cause) {
    throw new CheckpointError(
      "INDEX",
      indexPath,
      `index is not valid JSON: ${(cause as Error).message}`,
      undefined,
      { cause },
    );
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointError("INDEX", indexPath, "index has no weight_map object");
  }
  const meta = (index as { metadata?: unknown }).metadata;
  const indexMetadata =
    typeof meta === "object" && meta !== null && !Array.isArray(meta)
      ? (meta as Record<string, unknown>)
      : null;
  const byShard = new Map<string, string[]>();
  for (const [tensor, file] of Object.entries(weightMap as Record<string, unknown>)) {
    const shard = checkShardName(indexPath, tensor, file);
    const list = byShard.get(shard);
    if (list === undefined) byShard.set(shard, [tensor]);
    else list.push(tensor);
  }
  const shards = [...byShard.keys()].sort().map((k) => [k, byShard.get(k) as string[]] as const);
  return { shards, indexMetadata };
}

/** The open shards of an index and which one holds each tensor (MultiFileReader's constructor arguments). */
export interface OpenShards<F extends TensorReader> {
  readonly files: F[];
  readonly fileOf: Map<string, F>;
  readonly names: string[];
}

/**
 * Opens every shard of an index with `openShard` and checks that each holds the tensors the index places
 * in it; on any error the files opened so far are closed.
 */
export async function openShards<F extends TensorReader>(
  indexPath: string,
  index: ShardIndex,
  openShard: (path: string) => Promise<F>,
): Promise<OpenShards<F>> {
  const dir = dirname(indexPath);
  const files: F[] = [];
  const fileOf = new Map<string, F>();
  const names: string[] = [];
  try {
    for (const [shard, tensors] of index.shards) {
      const f = await openShard(join(dir, shard));
      files.push(f);
      const wanted = new Set(tensors);
      for (const t of wanted) {
        if (!f.has(t)) {
          throw new CheckpointError(
            "MISSING_TENSOR",
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
  return { files, fileOf, names };
}

async function fromIndex(indexPath: string, options?: OpenSafetensorsOptions): Promise<Checkpoint> {
  const index = await readShardIndex(indexPath);
  const r = await openShards(indexPath, index, (path) =>
    openSafetensors(path, options).catch((err) => {
      if (err instanceof SafetensorsError && err.code === "NOT_FOUND") {
        throw new CheckpointError(
          "NOT_FOUND",
          indexPath,
          `shard listed in weight_map is missing: ${err.file}`,
          undefined,
          { cause: err },
        );
      }
      throw err;
    }),
  );
  return new Checkpoint(indexPath, r.files, r.fileOf, r.names, index.indexMetadata);
}

/**
 * Opens a checkpoint: a `.safetensors` file, a `*.index.json`, or a directory holding
 * `model.safetensors.index.json`, `model.safetensors`, or exactly one other `*.safetensors` file.
 */
export async function openCheckpoint(path: string, options?: OpenSafetensorsOptions): Promise<Checkpoint> {
  const kind = await kindOf(path);
  if (kind === "missing") throw new CheckpointError("NOT_FOUND", path, "no such file or directory");
  if (kind === "file")
    return path.endsWith(".index.json") ? fromIndex(path, options) : fromSingle(path, options);
  const index = join(path, INDEX_FILE_NAME);
  if ((await kindOf(index)) === "file") return fromIndex(index, options);
  const single = join(path, SINGLE_FILE_NAME);
  if ((await kindOf(single)) === "file") return fromSingle(single, options);
  const entries = await readdir(path);
  const safetensors = entries.filter((e) => e.endsWith(".safetensors"));
  if (safetensors.length === 1) return fromSingle(join(path, safetensors[0]), options);
  if (entries.some((e) => e === "pytorch_model.bin" || e === "pytorch_model.bin.index.json")) {
    throw new CheckpointError(
      "UNSUPPORTED",
      path,
      "only a PyTorch checkpoint (pytorch_model.bin) was found: open it with openPytorchCheckpoint, or convert it with convertPytorchToSafetensors",
    );
  }
  const why =
    safetensors.length > 1
      ? `${safetensors.length} .safetensors files but no ${INDEX_FILE_NAME}`
      : `no ${SINGLE_FILE_NAME} or ${INDEX_FILE_NAME}`;
  throw new CheckpointError("NOT_FOUND", path, `not a safetensors checkpoint: ${why}`);
}
