// Lazy safetensors reader: validates the header on open, then reads one tensor at a time with positional
// reads on a FileHandle (never the whole file). Reads copy the bytes into a typed array the reader allocates
// (or the caller passes), which is aligned for its element type whatever the tensor's file offset, so
// unaligned offsets need no special case.

import { type FileHandle, open } from "node:fs/promises";
import { type DType, dtypeInfo, isNumericDType, numelOf } from "../dtype.js";
import { SafetensorsError } from "../errors.js";
import { bf16ToF32, f16ToF32 } from "../half.js";
import { type LazyTensor, StateDict, type TensorInfo } from "../state-dict.js";
import { Tensor } from "../tensor.js";
import {
  MAX_HEADER_SIZE,
  parseHeader,
  readHeaderLength,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from "./header.js";

/** Largest single positional read (Node caps one read at 2 GiB). */
const MAX_READ = 1 << 30;

/** Read access to named tensors; implemented by single files and sharded checkpoints. */
export interface TensorReader {
  /** The path given to open (for messages). */
  readonly path: string;
  /** `__metadata__` of the (first) file, or null. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Tensor names in storage order. */
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo | undefined;
  /** Reads one tensor into a fresh buffer. */
  read(name: string): Promise<Tensor>;
  /**
   * Reads one tensor and decodes it to float32: into `out` when given (its length must equal the element
   * count; reusing one buffer across tensors avoids page-faulting fresh memory), else a fresh array.
   */
  readFloat32(name: string, out?: Float32Array): Promise<Float32Array>;
  /** Reads one tensor's raw little-endian bytes into a fresh array. */
  readBytes(name: string): Promise<Uint8Array>;
  /** Reads one tensor's raw bytes into `target` (exactly the tensor's byte length) and returns it. */
  readInto<T extends ArrayBufferView>(name: string, target: T): Promise<T>;
  /**
   * Streams one tensor's bytes in chunks of at most `chunkBytes` (rounded down to whole elements). The yielded
   * array is reused: it is valid only until the next iteration. Pass `buffer` to reuse one scratch buffer
   * across tensors (it must hold at least one element; chunks never exceed its size).
   */
  readChunks(name: string, chunkBytes?: number, buffer?: Uint8Array): AsyncGenerator<Uint8Array>;
  /** A lazy handle that reads on `load()`. */
  lazy(name: string): LazyTensor;
  /** All tensors as lazy handles, in storage order. */
  stateDict(): StateDict;
  close(): Promise<void>;
}

export interface OpenSafetensorsOptions {
  /** Header length limit; default 100,000,000 bytes like the reference reader. */
  readonly maxHeaderSize?: number;
}

/** Reads exactly `length` bytes at `position` into `target` (from its start), in chunks. */
async function readFully(
  fh: FileHandle,
  file: string,
  target: Uint8Array,
  position: number,
  tensor?: string,
): Promise<void> {
  let done = 0;
  const length = target.byteLength;
  while (done < length) {
    const want = Math.min(MAX_READ, length - done);
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(target, done, want, position + done));
    } catch (cause) {
      throw new SafetensorsError("READ", file, `read failed: ${(cause as Error).message}`, tensor, { cause });
    }
    if (bytesRead === 0) {
      throw new SafetensorsError(
        "TRUNCATED",
        file,
        `file ended after ${position + done} bytes, expected at least ${position + length}`,
        tensor,
      );
    }
    done += bytesRead;
  }
}

/** An open safetensors file. Close it when done. */
export class SafetensorsFile implements TensorReader {
  readonly path: string;
  readonly header: SafetensorsHeader;
  readonly #fh: FileHandle;
  readonly #byName: ReadonlyMap<string, SafetensorsEntry>;
  #closed = false;

  private constructor(path: string, fh: FileHandle, header: SafetensorsHeader) {
    this.path = path;
    this.#fh = fh;
    this.header = header;
    this.#byName = header.byName;
  }

  /** Opens and validates `path`. Throws `SafetensorsError` for anything malformed; the handle is then closed. */
  static async open(path: string, options: OpenSafetensorsOptions = {}): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new SafetensorsError("NOT_FOUND", path, `cannot open (${code ?? String(cause)})`, undefined, {
        cause,
      });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new SafetensorsError("NOT_FOUND", path, "not a regular file");
      const size = st.size;
      const prefix = new Uint8Array(8);
      if (size >= 8) await readFully(fh, path, prefix, 0);
      const n = readHeaderLength(path, prefix, size, options.maxHeaderSize ?? MAX_HEADER_SIZE);
      const json = new Uint8Array(n);
      await readFully(fh, path, json, 8);
      return new SafetensorsFile(path, fh, parseHeader(path, json, size));
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  get metadata(): Readonly<Record<string, string>> | null {
    return this.header.metadata;
  }

  /** Names in data-offset order. */
  names(): string[] {
    return this.header.entries.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  info(name: string): TensorInfo | undefined {
    const e = this.#byName.get(name);
    return e === undefined ? undefined : { dtype: e.dtype, shape: e.shape };
  }

  /** The header entry (dtype, shape, offsets) of a tensor. */
  entry(name: string): SafetensorsEntry {
    if (this.#closed) throw new SafetensorsError("CLOSED", this.path, "file is closed", name);
    const e = this.#byName.get(name);
    if (e === undefined)
      throw new SafetensorsError("NOT_FOUND", this.path, "no such tensor in this file", name);
    return e;
  }

  /** Allocates a tensor-sized array, turning an allocation failure into a typed error. */
  #allocate<T>(name: string, length: number, ctor: new (n: number) => T): T {
    try {
      return new ctor(length);
    } catch (cause) {
      throw new SafetensorsError(
        "READ",
        this.path,
        `cannot allocate ${length} elements to load at once (${(cause as Error).message}); stream it with readChunks`,
        name,
        { cause },
      );
    }
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    return this.readInto(name, this.#allocate(name, e.end - e.begin, Uint8Array));
  }

  async readInto<T extends ArrayBufferView>(name: string, target: T): Promise<T> {
    const e = this.entry(name);
    if (target.byteLength !== e.end - e.begin) {
      throw new SafetensorsError(
        "READ",
        this.path,
        `target holds ${target.byteLength} bytes, tensor has ${e.end - e.begin}`,
        name,
      );
    }
    const bytes = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
    await readFully(this.#fh, this.path, bytes, this.header.dataOffset + e.begin, name);
    return target;
  }

  async read(name: string): Promise<Tensor> {
    const e = this.entry(name);
    return Tensor.fromBytes(e.dtype, e.shape, await this.readBytes(name));
  }

  async readFloat32(name: string, out?: Float32Array): Promise<Float32Array> {
    const e = this.entry(name);
    const n = numelOf(e.shape);
    if (out !== undefined && out.length !== n) {
      throw new SafetensorsError(
        "READ",
        this.path,
        `output holds ${out.length} values, tensor has ${n}`,
        name,
      );
    }
    if (e.dtype === "F32") return this.readInto(name, out ?? this.#allocate(name, n, Float32Array));
    if (e.dtype === "BF16" || e.dtype === "F16") {
      // Read the 16-bit data into the upper half of the output and decode forward in place: element i's 4
      // output bytes end at or before the 2 input bytes of element i + 1, so nothing unread is overwritten.
      const dst = out ?? this.#allocate(name, n, Float32Array);
      const half = new Uint16Array(dst.buffer, dst.byteOffset + 2 * n, n);
      await this.readInto(name, half);
      return e.dtype === "BF16" ? bf16ToF32(half, dst) : f16ToF32(half, dst);
    }
    if (!isNumericDType(e.dtype)) {
      throw new SafetensorsError("READ", this.path, `${e.dtype} has no float32 decoding`, name);
    }
    const t = await this.read(name);
    return t.toFloat32(out);
  }

  async *readChunks(name: string, chunkBytes = 16 << 20, buffer?: Uint8Array): AsyncGenerator<Uint8Array> {
    const e = this.entry(name);
    const info = dtypeInfo(e.dtype);
    const unit = Math.max(1, info.array.BYTES_PER_ELEMENT * info.lanes);
    const limit = buffer === undefined ? chunkBytes : Math.min(chunkBytes, buffer.byteLength);
    const step = Math.floor(limit / unit) * unit;
    if (step <= 0)
      throw new SafetensorsError(
        "READ",
        this.path,
        `chunk of ${limit} bytes holds no ${e.dtype} element`,
        name,
      );
    const total = e.end - e.begin;
    const buf = buffer ?? new Uint8Array(Math.min(step, total));
    for (let done = 0; done < total; done += step) {
      const len = Math.min(step, total - done);
      const view = buf.subarray(0, len);
      await readFully(this.#fh, this.path, view, this.header.dataOffset + e.begin + done, name);
      yield view;
    }
  }

  lazy(name: string): LazyTensor {
    const e = this.entry(name);
    return {
      name,
      dtype: e.dtype,
      shape: e.shape,
      load: () => this.read(name),
      loadFloat32: (out?: Float32Array) => this.readFloat32(name, out),
    };
  }

  stateDict(): StateDict {
    return new StateDict(this.header.entries.map((e) => [e.name, this.lazy(e.name)] as const));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fh.close();
  }
}

/** Opens a safetensors file lazily (header validated, no tensor data read). */
export function openSafetensors(path: string, options?: OpenSafetensorsOptions): Promise<SafetensorsFile> {
  return SafetensorsFile.open(path, options);
}

export type { DType };
