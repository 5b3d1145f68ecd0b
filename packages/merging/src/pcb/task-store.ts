// n float32 rows of length D (one per task) that PCB streaming-global fills in its first pass and
// rewrites in place later (T → balance scores B), so later passes read them instead of re-reading
// and re-scoring the checkpoints. Held in memory (SharedArrayBuffer, so worker threads can share it)
// when n·D·4 bytes fit the memory budget, else in a temp file that is unlinked right after it is
// opened: the data lives only as long as the file descriptor, so nothing is left on disk after
// `close`, an error or a crash.

import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PcbError } from "./options.js";

/** Columns per chunk when a pass walks the whole store: 256 KiB per row, so a chunk stays in L2 between the kernels of a pass. */
export const STORE_CHUNK = 1 << 16;

export interface TaskStore {
  readonly n: number;
  readonly length: number;
  /** "memory" or "file" (spilled). */
  readonly kind: "memory" | "file";
  /** A writable view of row `task`, columns [offset, offset + len), when the store is in memory. */
  view(task: number, offset: number, len: number): Float32Array | undefined;
  /** Writes `src` into row `task` at column `offset`. */
  write(task: number, offset: number, src: Float32Array): void;
  /**
   * Row `task`, columns [offset, offset + len): a view of the stored data (memory) or a copy read
   * into `scratch` (file). Writes to the result reach the store only through `write` (file) —
   * use `forEachChunk` for in-place updates.
   */
  read(task: number, offset: number, len: number, scratch: Float32Array): Float32Array;
  /**
   * Walks the columns in chunks of at most `chunk`, giving every row's slice of the chunk; when `fn`
   * returns true the (possibly modified) slices are written back.
   */
  forEachChunk(fn: (start: number, rows: readonly Float32Array[]) => boolean, chunk?: number): void;
  /** Releases the memory or closes (and thereby deletes) the temp file. Idempotent. */
  close(): void;
}

class MemoryStore implements TaskStore {
  readonly kind = "memory";
  private rows: Float32Array[];

  constructor(
    readonly n: number,
    readonly length: number,
  ) {
    this.rows = Array.from({ length: n }, () => new Float32Array(new SharedArrayBuffer(length * 4)));
  }

  view(task: number, offset: number, len: number): Float32Array {
    return this.rows[task].subarray(offset, offset + len);
  }

  write(task: number, offset: number, src: Float32Array): void {
    this.rows[task].set(src, offset);
  }

  read(task: number, offset: number, len: number): Float32Array {
    return this.rows[task].subarray(offset, offset + len);
  }

  forEachChunk(fn: (start: number, rows: readonly Float32Array[]) => boolean, chunk = STORE_CHUNK): void {
    for (let s = 0; s < this.length; s += chunk) {
      const e = Math.min(this.length, s + chunk);
      fn(
        s,
        this.rows.map((r) => r.subarray(s, e)),
      );
    }
  }

  /** The rows themselves (shared memory), for worker threads. */
  get shared(): readonly Float32Array[] {
    return this.rows;
  }

  close(): void {
    this.rows = [];
  }
}

class FileStore implements TaskStore {
  readonly kind = "file";
  private fd: number | undefined;
  private bufs: Float32Array[] = [];
  /** Set when the platform could not unlink the open file: removed in close() instead. */
  private pathToRemove: string | undefined;

  constructor(
    readonly n: number,
    readonly length: number,
    dir: string,
  ) {
    const path = join(
      dir,
      `x-pcb-spill-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
    );
    try {
      this.fd = openSync(path, "wx+", 0o600);
    } catch (e) {
      throw new PcbError(
        `pcb streaming-global: cannot create the spill file in '${dir}': ${(e as Error).message}`,
      );
    }
    try {
      ftruncateSync(this.fd, n * length * 4); // sparse: disk is used only as rows are written
    } catch (e) {
      closeSync(this.fd);
      unlinkSync(path);
      throw new PcbError(
        `pcb streaming-global: cannot size the spill file in '${dir}': ${(e as Error).message}`,
      );
    }
    try {
      unlinkSync(path); // the data now lives only as long as the descriptor
    } catch {
      this.pathToRemove = path;
    }
  }

  private get handle(): number {
    if (this.fd === undefined) throw new PcbError("pcb streaming-global: spill store used after close");
    return this.fd;
  }

  view(): undefined {
    return undefined;
  }

  private pos(task: number, offset: number): number {
    return (task * this.length + offset) * 4;
  }

  write(task: number, offset: number, src: Float32Array): void {
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    let done = 0;
    while (done < bytes.length) {
      done += writeSync(this.handle, bytes, done, bytes.length - done, this.pos(task, offset) + done);
    }
  }

  read(task: number, offset: number, len: number, scratch: Float32Array): Float32Array {
    if (scratch.length < len)
      throw new PcbError(`pcb streaming-global: read of ${len} values into ${scratch.length}`);
    const out = scratch.subarray(0, len);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const got = readSync(this.handle, bytes, done, bytes.length - done, this.pos(task, offset) + done);
      if (got === 0) throw new PcbError("pcb streaming-global: spill file shorter than written (disk full?)");
      done += got;
    }
    return out;
  }

  forEachChunk(fn: (start: number, rows: readonly Float32Array[]) => boolean, chunk = STORE_CHUNK): void {
    const size = Math.min(chunk, this.length);
    for (let i = 0; i < this.n; i++)
      if (!this.bufs[i] || this.bufs[i].length < size) this.bufs[i] = new Float32Array(size);
    for (let s = 0; s < this.length; s += chunk) {
      const len = Math.min(this.length, s + chunk) - s;
      const rows = this.bufs.map((b, i) => this.read(i, s, len, b));
      if (fn(s, rows)) for (let i = 0; i < rows.length; i++) this.write(i, s, rows[i]);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.bufs = [];
    if (this.pathToRemove) {
      try {
        unlinkSync(this.pathToRemove);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * A store of n rows of `length` float32: in memory when n·length·4 ≤ `memoryBudget` bytes, else in a
 * self-deleting temp file under `spillDir` (default: the OS temp directory).
 */
export function createTaskStore(
  n: number,
  length: number,
  memoryBudget: number,
  spillDir?: string,
): TaskStore {
  const bytes = n * length * 4;
  // One shared buffer per row: stay well inside V8's size limit; if the allocation fails, spill.
  if (bytes <= memoryBudget && length <= 2 ** 29) {
    try {
      return new MemoryStore(n, length);
    } catch {
      // fall through to the file store
    }
  }
  return new FileStore(n, length, spillDir || tmpdir());
}

export function sharedRowsOf(store: TaskStore): readonly Float32Array[] | undefined {
  return store instanceof MemoryStore ? store.shared : undefined;
}
