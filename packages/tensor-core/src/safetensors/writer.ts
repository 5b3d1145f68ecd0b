// Streaming safetensors writer. The header is built from the tensor specs up front, so every tensor's file
// offset is known before any data arrives; data is then written with positional writes, one tensor (or one
// chunk) at a time, in any order. The file is written under a temporary name and renamed on `finish()`;
// `abort()` (or any failure in `writeSafetensors`) removes the temporary file.

import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { TensorData } from "../dtype.js";
import { SafetensorsError } from "../errors.js";
import { Tensor } from "../tensor.js";
import {
  buildHeader,
  type LayoutOrder,
  layoutOrder,
  type SafetensorsEntry,
  type TensorSpec,
} from "./header.js";
import { syncDirectory } from "./sync-dir.js";

/** Data for one tensor: a tensor (dtype and shape must match the spec), raw typed data, or byte chunks. */
export type TensorPayload = Tensor | TensorData | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface WriteOptions {
  /** User metadata (string -> string), written after `format`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** `__metadata__.format`; default "pt" (what transformers expects); null omits it. */
  readonly format?: string | null;
  /** Data layout: "reference" (descending dtype rank, then name; default) or "given". */
  readonly order?: LayoutOrder;
  /**
   * fsync the data before the rename and the directory after it, so a crash never leaves a renamed but
   * incomplete file, nor loses the rename (default false).
   */
  readonly durable?: boolean;
}

/** Temporary sibling name for atomic writes. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** The `__metadata__` object a writer will emit, or null. */
export function metadataFor(options: WriteOptions): Record<string, string> | null {
  const out: Record<string, string> = {};
  const format = options.format === undefined ? "pt" : options.format;
  if (format !== null) out.format = format;
  for (const [k, v] of Object.entries(options.metadata ?? {})) out[k] = v;
  return Object.keys(out).length === 0 ? null : out;
}

function isByteChunks(p: TensorPayload): p is AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  return (
    !ArrayBuffer.isView(p) && !(p instanceof Tensor) && (Symbol.asyncIterator in p || Symbol.iterator in p)
  );
}

/** Writes one safetensors file; create with `SafetensorsWriter.create`. */
export class SafetensorsWriter {
  readonly path: string;
  readonly tempPath: string;
  /** Entries in data order (header offsets). */
  readonly entries: readonly SafetensorsEntry[];
  readonly dataOffset: number;
  readonly #fh: FileHandle;
  readonly #byName: Map<string, SafetensorsEntry>;
  readonly #durable: boolean;
  /** Bytes written so far per tensor (chunked writes append). */
  readonly #written = new Map<string, number>();
  /** Tensors for which `isWritten` holds (kept as a count: checking every name per write is quadratic). */
  #writtenCount = 0;
  #state: "open" | "sealed" | "finished" | "aborted" = "open";

  private constructor(
    path: string,
    tempPath: string,
    fh: FileHandle,
    entries: readonly SafetensorsEntry[],
    dataOffset: number,
    durable: boolean,
  ) {
    this.#durable = durable;
    this.path = path;
    this.tempPath = tempPath;
    this.#fh = fh;
    this.entries = entries;
    this.dataOffset = dataOffset;
    this.#byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Builds the header from `specs`, creates the temporary file and writes the header. */
  static async create(
    path: string,
    specs: readonly TensorSpec[],
    options: WriteOptions = {},
  ): Promise<SafetensorsWriter> {
    const ordered = layoutOrder(specs, options.order ?? "reference");
    const header = buildHeader(path, ordered, metadataFor(options));
    const tempPath = tempPathFor(path);
    let fh: FileHandle;
    try {
      fh = await open(tempPath, "wx");
    } catch (cause) {
      throw new SafetensorsError(
        "WRITE",
        path,
        `cannot create ${tempPath}: ${(cause as Error).message}`,
        undefined,
        { cause },
      );
    }
    const writer = new SafetensorsWriter(
      path,
      tempPath,
      fh,
      header.entries,
      header.bytes.length,
      options.durable === true,
    );
    try {
      await writer.#writeAt(header.bytes, 0, undefined);
      // Fix the final size now so a reader never sees a short file and zero-size tensors need no write.
      await fh.truncate(header.bytes.length + header.dataLength);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return writer;
  }

  async #writeAt(bytes: Uint8Array, position: number, tensor: string | undefined): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const len = Math.min(bytes.byteLength - done, 1 << 30);
      let n: number;
      try {
        ({ bytesWritten: n } = await this.#fh.write(bytes, done, len, position + done));
      } catch (cause) {
        throw new SafetensorsError("WRITE", this.path, `write failed: ${(cause as Error).message}`, tensor, {
          cause,
        });
      }
      if (n === 0) throw new SafetensorsError("WRITE", this.path, "write made no progress", tensor);
      done += n;
    }
  }

  #entry(name: string): SafetensorsEntry {
    if (this.#state !== "open")
      throw new SafetensorsError("CLOSED", this.path, `writer is ${this.#state}`, name);
    const e = this.#byName.get(name);
    if (e === undefined)
      throw new SafetensorsError("NOT_FOUND", this.path, "tensor is not in the header specs", name);
    return e;
  }

  /** True when `name` belongs to this file. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** True once every byte of `name` has been written. */
  isComplete(name: string): boolean {
    const e = this.#byName.get(name);
    return e !== undefined && (this.#written.get(name) ?? 0) === e.end - e.begin;
  }

  /** True once `name` was written and is complete (zero-size tensors count once `write` was called for them). */
  isWritten(name: string): boolean {
    return this.#written.has(name) && this.isComplete(name);
  }

  /** True once every tensor of the file `isWritten`. */
  get allWritten(): boolean {
    return this.#writtenCount === this.entries.length;
  }

  /** Writes the next chunk of `name`'s bytes (chunks of one tensor must come in order). */
  async writeChunk(name: string, chunk: Uint8Array): Promise<void> {
    const e = this.#entry(name);
    const done = this.#written.get(name) ?? 0;
    const size = e.end - e.begin;
    if (done + chunk.byteLength > size) {
      throw new SafetensorsError(
        "WRITE",
        this.path,
        `got ${done + chunk.byteLength} bytes, the header declares ${size}`,
        name,
      );
    }
    await this.#writeAt(chunk, this.dataOffset + e.begin + done, name);
    const wasWritten = this.#written.get(name) === size;
    this.#written.set(name, done + chunk.byteLength);
    if (!wasWritten && done + chunk.byteLength === size) this.#writtenCount++;
  }

  /** Writes a whole tensor. A `Tensor` must have the spec's dtype and shape; raw data must have its byte size. */
  async write(name: string, payload: TensorPayload): Promise<void> {
    const e = this.#entry(name);
    if ((this.#written.get(name) ?? 0) !== 0)
      throw new SafetensorsError("WRITE", this.path, "tensor written twice", name);
    if (payload instanceof Tensor) {
      if (
        payload.dtype !== e.dtype ||
        payload.shape.length !== e.shape.length ||
        payload.shape.some((d, i) => d !== e.shape[i])
      ) {
        throw new SafetensorsError(
          "WRITE",
          this.path,
          `tensor is ${payload.dtype} [${payload.shape.join(", ")}], header declares ${e.dtype} [${e.shape.join(", ")}]`,
          name,
        );
      }
      await this.writeChunk(name, payload.bytes());
    } else if (ArrayBuffer.isView(payload)) {
      await this.writeChunk(name, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    } else if (isByteChunks(payload)) {
      for await (const chunk of payload as AsyncIterable<Uint8Array>) await this.writeChunk(name, chunk);
    } else {
      throw new SafetensorsError(
        "WRITE",
        this.path,
        "payload must be a Tensor, a typed array or byte chunks",
        name,
      );
    }
    if (!this.isComplete(name)) {
      throw new SafetensorsError(
        "WRITE",
        this.path,
        `got ${this.#written.get(name) ?? 0} bytes, the header declares ${e.end - e.begin}`,
        name,
      );
    }
  }

  /** True once `seal()` has closed the (complete) temporary file. */
  get sealed(): boolean {
    return this.#state === "sealed";
  }

  /**
   * Checks every tensor is complete, flushes (`durable`) and closes the temporary file without renaming it, so
   * a sharded writer can hold many finished shards without their file handles. On an incomplete file the
   * writer is aborted and a `SafetensorsError` thrown.
   */
  async seal(): Promise<void> {
    if (this.#state === "sealed") return;
    if (this.#state !== "open") throw new SafetensorsError("CLOSED", this.path, `writer is ${this.#state}`);
    const missing = this.entries.filter((e) => e.end > e.begin && !this.isComplete(e.name));
    if (missing.length > 0) {
      await this.abort();
      throw new SafetensorsError(
        "WRITE",
        this.path,
        `${missing.length} tensor(s) incomplete, e.g. ${JSON.stringify(missing[0].name)}; nothing was written`,
      );
    }
    try {
      if (this.#durable) await this.#fh.sync();
      await this.#fh.close();
      this.#state = "sealed";
    } catch (cause) {
      await this.abort();
      throw new SafetensorsError("WRITE", this.path, `cannot close: ${(cause as Error).message}`, undefined, {
        cause,
      });
    }
  }

  /** Seals the file if needed, then renames the temporary file into place. */
  async finish(): Promise<void> {
    await this.seal();
    this.#state = "finished";
    try {
      await rename(this.tempPath, this.path);
      if (this.#durable) await syncDirectory(dirname(this.path));
    } catch (cause) {
      await rm(this.tempPath, { force: true }).catch(() => {});
      throw new SafetensorsError(
        "WRITE",
        this.path,
        `cannot finish: ${(cause as Error).message}`,
        undefined,
        { cause },
      );
    }
  }

  /** Closes and removes the temporary file (safe to call more than once, and after `seal()`). */
  async abort(): Promise<void> {
    if (this.#state === "finished" || this.#state === "aborted") return;
    const wasOpen = this.#state === "open";
    this.#state = "aborted";
    if (wasOpen) await this.#fh.close().catch(() => {});
    await rm(this.tempPath, { force: true }).catch(() => {});
  }
}

/** Where tensor data comes from: `[name, payload]` pairs (any order), or a function called per tensor in data order. */
export type TensorSourceFn = (spec: SafetensorsEntry) => TensorPayload | Promise<TensorPayload>;
export type TensorStream =
  | AsyncIterable<readonly [string, TensorPayload]>
  | Iterable<readonly [string, TensorPayload]>;

/** Feeds a writer from a source, aborting it on any error. */
export async function drainInto(
  writers: { write(name: string, p: TensorPayload): Promise<void>; abort(): Promise<void> },
  entries: readonly SafetensorsEntry[],
  source: TensorSourceFn | TensorStream,
): Promise<void> {
  try {
    if (typeof source === "function") {
      for (const e of entries) await writers.write(e.name, await source(e));
    } else {
      for await (const [name, payload] of source as AsyncIterable<readonly [string, TensorPayload]>)
        await writers.write(name, payload);
    }
  } catch (err) {
    await writers.abort();
    throw err;
  }
}

/**
 * Writes a safetensors file from specs (names, dtypes, shapes) and a data source, streaming one tensor at a
 * time. Atomic: the file appears complete under `path` or not at all.
 */
export async function writeSafetensors(
  path: string,
  specs: readonly TensorSpec[],
  source: TensorSourceFn | TensorStream,
  options: WriteOptions = {},
): Promise<void> {
  const writer = await SafetensorsWriter.create(path, specs, options);
  await drainInto(writer, writer.entries, source);
  await writer.finish();
}

/** Specs of a set of tensors or lazy handles. */
function specsOf(
  tensors: Iterable<readonly [string, { dtype: Tensor["dtype"]; shape: readonly number[] }]>,
): TensorSpec[] {
  return [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
}

/**
 * Saves in-memory tensors (a Map, a record, or a StateDict whose lazy tensors are loaded one at a time) like
 * Python's `save_file`: reference layout, `{"format": "pt"}` plus `metadata`.
 */
export async function saveSafetensors(
  path: string,
  tensors:
    | Iterable<
        readonly [
          string,
          Tensor | { dtype: Tensor["dtype"]; shape: readonly number[]; load(): Promise<Tensor> },
        ]
      >
    | Record<string, Tensor>,
  options: WriteOptions = {},
): Promise<void> {
  const list =
    Symbol.iterator in tensors
      ? [...(tensors as Iterable<readonly [string, Tensor]>)]
      : Object.entries(tensors);
  const byName = new Map(list);
  await writeSafetensors(
    path,
    specsOf(list),
    async (e) => {
      const t = byName.get(e.name) as Tensor | { load(): Promise<Tensor> };
      return t instanceof Tensor ? t : t.load();
    },
    options,
  );
}
