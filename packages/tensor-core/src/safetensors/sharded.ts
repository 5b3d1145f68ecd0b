// Sharded safetensors writing with Hugging Face names: `model-00001-of-00003.safetensors` ... plus
// `model.safetensors.index.json` ({metadata: {total_size}, weight_map}); a single shard is plain
// `model.safetensors` with no index. Shards are planned like mergekit: tensors in the given order fill the
// current shard until adding the next one would exceed `maxShardSize` bytes (a tensor larger than the limit
// gets a shard of its own). All files are written under temporary names and renamed only when every shard is
// complete; the index is renamed last.

import { mkdirSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { byteLengthOf, numelOf } from "../dtype.js";
import { SafetensorsError } from "../errors.js";
import { sortKeys } from "../state-dict.js";
import {
  buildHeader,
  type LayoutOrder,
  layoutOrder,
  type SafetensorsEntry,
  type TensorSpec,
} from "./header.js";
import { syncDirectory } from "./sync-dir.js";
import {
  drainInto,
  metadataFor,
  SafetensorsWriter,
  type TensorPayload,
  type TensorSourceFn,
  type TensorStream,
  tempPathFor,
  type WriteOptions,
} from "./writer.js";

export const SINGLE_FILE_NAME = "model.safetensors";
export const INDEX_FILE_NAME = "model.safetensors.index.json";

/** `model-00001-of-00003.safetensors` (1-based, 5 digits), or `model.safetensors` when there is one shard. */
export function shardFileName(index: number, count: number): string {
  if (count === 1) return SINGLE_FILE_NAME;
  const pad = (n: number) => String(n).padStart(5, "0");
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

function specBytes(s: TensorSpec): number {
  const n = numelOf(s.shape);
  return n < 0 ? -1 : byteLengthOf(s.dtype, n);
}

/** Splits specs (in the given order) into shards of at most `maxShardSize` data bytes each. */
export function planShards<T extends TensorSpec>(specs: readonly T[], maxShardSize: number): T[][] {
  if (!(maxShardSize > 0)) throw new RangeError(`maxShardSize must be positive, got ${maxShardSize}`);
  const shards: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const s of specs) {
    const b = specBytes(s);
    if (current.length > 0 && size + b > maxShardSize) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(s);
    size += b;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

export interface ShardedWriteOptions extends WriteOptions {
  /** Maximum data bytes per shard; default 5 GB (mergekit's default `--out-shard-size` is 5B). */
  readonly maxShardSize?: number;
  /** Extra keys for the index's `metadata` (next to `total_size`). */
  readonly indexMetadata?: Readonly<Record<string, unknown>>;
  /** Data layout inside each shard; default "reference". */
  readonly order?: LayoutOrder;
}

/** What a sharded write produced. */
export interface ShardedWriteResult {
  readonly files: readonly string[];
  readonly indexFile: string | null;
  readonly totalSize: number;
}

/**
 * Writes a sharded checkpoint into a directory; create with `ShardedSafetensorsWriter.create`. A shard's
 * temporary file is opened on its first write and closed (sealed) as soon as all its tensors are complete, so
 * a streaming writer holds about one open file however many shards there are.
 */
export class ShardedSafetensorsWriter {
  readonly dir: string;
  readonly shardNames: readonly string[];
  readonly totalSize: number;
  /** Entries of every shard, shard by shard in data order. */
  readonly entries: readonly SafetensorsEntry[];
  readonly #plan: readonly (readonly TensorSpec[])[];
  readonly #options: ShardedWriteOptions;
  readonly #opening = new Map<number, Promise<SafetensorsWriter>>();
  readonly #shardOf: Map<string, number>;
  #state: "open" | "finished" | "aborted" = "open";

  private constructor(dir: string, plan: TensorSpec[][], totalSize: number, options: ShardedWriteOptions) {
    this.dir = dir;
    this.#plan = plan;
    this.#options = options;
    this.shardNames = plan.map((_, i) => shardFileName(i, plan.length));
    this.totalSize = totalSize;
    this.#shardOf = new Map();
    const metadata = metadataFor(options);
    const entries: SafetensorsEntry[] = [];
    plan.forEach((specs, i) => {
      // The same header the shard's writer will build, so callers can stream in data order before any open.
      const header = buildHeader(
        join(dir, this.shardNames[i]),
        layoutOrder(specs, options.order ?? "reference"),
        metadata,
      );
      for (const e of header.entries) {
        this.#shardOf.set(e.name, i);
        entries.push(e);
      }
    });
    this.entries = entries;
  }

  /** Validates the specs, plans the shards and creates `dir` if needed (shard files open on first write). */
  static async create(
    dir: string,
    specs: readonly TensorSpec[],
    options: ShardedWriteOptions = {},
  ): Promise<ShardedSafetensorsWriter> {
    const seen = new Set<string>();
    let total = 0;
    for (const s of specs) {
      if (seen.has(s.name)) throw new SafetensorsError("DUPLICATE_KEY", dir, "tensor listed twice", s.name);
      seen.add(s.name);
      const b = specBytes(s);
      if (b < 0) {
        throw new SafetensorsError(
          "INVALID_SHAPE",
          dir,
          `invalid shape [${s.shape.join(", ")}] for ${s.dtype}`,
          s.name,
        );
      }
      total += b;
    }
    const plan = planShards(specs, options.maxShardSize ?? 5_000_000_000);
    try {
      // Synchronous: the caller may own `dir` as a temporary that an interrupt handler removes, and an async mkdir
      // still on libuv's threads when the handler runs would create it again after the removal.
      mkdirSync(dir, { recursive: true });
    } catch (cause) {
      throw new SafetensorsError(
        "WRITE",
        dir,
        `cannot create the output directory: ${(cause as Error).message}`,
        undefined,
        {
          cause,
        },
      );
    }
    return new ShardedSafetensorsWriter(dir, plan, total, options);
  }

  /** The shard file name holding `name`. */
  shardFor(name: string): string {
    const i = this.#shardOf.get(name);
    if (i === undefined)
      throw new SafetensorsError("NOT_FOUND", this.dir, "tensor is not in the specs", name);
    return this.shardNames[i];
  }

  /** The writer of shard `i`, creating its temporary file on first use. */
  #shard(i: number): Promise<SafetensorsWriter> {
    let w = this.#opening.get(i);
    if (w === undefined) {
      w = SafetensorsWriter.create(join(this.dir, this.shardNames[i]), this.#plan[i], this.#options);
      this.#opening.set(i, w);
    }
    return w;
  }

  async #writer(name: string): Promise<SafetensorsWriter> {
    if (this.#state !== "open")
      throw new SafetensorsError("CLOSED", this.dir, `writer is ${this.#state}`, name);
    const i = this.#shardOf.get(name);
    if (i === undefined)
      throw new SafetensorsError("NOT_FOUND", this.dir, "tensor is not in the specs", name);
    return this.#shard(i);
  }

  /** Seals a shard once every tensor in it is complete, releasing its file handle. */
  async #sealIfComplete(w: SafetensorsWriter): Promise<void> {
    if (!w.sealed && w.allWritten) await w.seal();
  }

  async write(name: string, payload: TensorPayload): Promise<void> {
    const w = await this.#writer(name);
    await w.write(name, payload);
    await this.#sealIfComplete(w);
  }

  async writeChunk(name: string, chunk: Uint8Array): Promise<void> {
    const w = await this.#writer(name);
    await w.writeChunk(name, chunk);
    await this.#sealIfComplete(w);
  }

  /** Completes every shard, then renames them into place and writes the index (when there are several). */
  async finish(): Promise<ShardedWriteResult> {
    if (this.#state !== "open") throw new SafetensorsError("CLOSED", this.dir, `writer is ${this.#state}`);
    const indexFile = this.#plan.length > 1 ? join(this.dir, INDEX_FILE_NAME) : null;
    let indexTemp: string | null = null;
    try {
      // Shards never written to (only zero-size tensors, or missing data) are created now; seal() then
      // verifies that every tensor is complete.
      const writers: SafetensorsWriter[] = [];
      for (let i = 0; i < this.#plan.length; i++) writers.push(await this.#shard(i));
      for (const w of writers) await w.seal();
      if (indexFile !== null) {
        // Index first under a temporary name, so a failure leaves no final file behind.
        const weightMap: Record<string, string> = {};
        for (const e of this.entries) weightMap[e.name] = this.shardFor(e.name);
        const sortedMap = Object.fromEntries(sortKeys(Object.keys(weightMap)).map((k) => [k, weightMap[k]]));
        const index = {
          metadata: { total_size: this.totalSize, ...(this.#options.indexMetadata ?? {}) },
          weight_map: sortedMap,
        };
        indexTemp = tempPathFor(indexFile);
        const fh = await open(indexTemp, "wx");
        try {
          await fh.writeFile(`${JSON.stringify(index, null, 2)}\n`);
          if (this.#options.durable === true) await fh.sync();
        } finally {
          await fh.close();
        }
      }
      for (const w of writers) await w.finish();
      this.#state = "finished";
      if (indexFile !== null && indexTemp !== null) {
        await rename(indexTemp, indexFile);
        if (this.#options.durable === true) await syncDirectory(this.dir);
      }
    } catch (cause) {
      await this.abort();
      if (indexTemp !== null) await rm(indexTemp, { force: true }).catch(() => {});
      if (cause instanceof SafetensorsError) throw cause;
      throw new SafetensorsError("WRITE", this.dir, `cannot finish: ${(cause as Error).message}`, undefined, {
        cause,
      });
    }
    return { files: this.shardNames.map((n) => join(this.dir, n)), indexFile, totalSize: this.totalSize };
  }

  /** Removes every temporary file. */
  async abort(): Promise<void> {
    if (this.#state === "aborted") return;
    this.#state = "aborted";
    const writers = await Promise.allSettled(this.#opening.values());
    await Promise.all(writers.map((r) => (r.status === "fulfilled" ? r.value.abort() : undefined)));
  }
}

/** Writes a sharded checkpoint directory from specs and a data source (see `writeSafetensors`). */
export async function writeShardedSafetensors(
  dir: string,
  specs: readonly TensorSpec[],
  source: TensorSourceFn | TensorStream,
  options: ShardedWriteOptions = {},
): Promise<ShardedWriteResult> {
  const writer = await ShardedSafetensorsWriter.create(dir, specs, options);
  await drainInto(writer, writer.entries, source);
  return writer.finish();
}
