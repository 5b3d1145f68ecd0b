// Chunked execution of the typed-array kernels across worker threads (the harness in ../workers) over
// SharedArrayBuffer. Every chunk runs the same kernel code as the single-threaded call on a
// [start, end) range, and reductions along D are combined in a fixed order, so results are
// bit-identical to the single-threaded kernels whatever the thread count or chunk size.
import { availableParallelism } from "node:os";
import { expectLength, expectMatrix, KernelError } from "../kernels/errors.js";
import { combineBlockSums, SUM_BLOCK, type TaskReduceOp } from "../kernels/reduce.js";
import type { FloatArray } from "../select.js";
import { WorkerError } from "../workers/errors.js";
import { WorkerPool } from "../workers/pool.js";
import { workerScript } from "../workers/script.js";
import type kernelWorker from "./kernel-worker.js";
import {
  type ArraySpec,
  describe,
  ELEMENTWISE_SIGNATURE,
  type ElementwiseOp,
  type RangeReduceOp,
  runTask,
  type Task,
} from "./tasks.js";

export interface KernelPoolOptions {
  /** Worker threads (default: available cores, at most 8). */
  threads?: number;
  /** Target elements per chunk (rounded up to a multiple of SUM_BLOCK); default splits into ~4 chunks per thread. */
  chunkElements?: number;
  /** Work below this many elements runs in the calling thread (default 2^18); 0 forces the workers. */
  inlineBelow?: number;
  /** Explicit worker script (a built kernel-worker.js); default: the one of this build. */
  workerUrl?: URL;
}

/** A Float32Array over a new SharedArrayBuffer. */
export function sharedFloat32Array(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

/** A Float64Array over a new SharedArrayBuffer. */
export function sharedFloat64Array(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** A copy of `a` in shared memory (or `a` itself if it already is shared). */
export function toShared<T extends FloatArray>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = (a instanceof Float64Array ? sharedFloat64Array(a.length) : sharedFloat32Array(a.length)) as T;
  s.set(a);
  return s;
}

export class KernelPool {
  readonly threads: number;
  private readonly chunkElements: number | undefined;
  private readonly inlineBelow: number;
  private readonly workerUrl: URL | undefined;
  private workers: Promise<WorkerPool<typeof kernelWorker>> | undefined;
  private destroyed = false;

  constructor(opts: KernelPoolOptions = {}) {
    this.threads = Math.max(1, Math.floor(opts.threads ?? Math.min(8, availableParallelism())));
    this.chunkElements = opts.chunkElements;
    this.inlineBelow = opts.inlineBelow ?? 1 << 18;
    this.workerUrl = opts.workerUrl;
  }

  /** The worker pool, started on first use (the script is resolved in the build this module runs from). */
  private pool(): Promise<WorkerPool<typeof kernelWorker>> {
    if (this.destroyed)
      return Promise.reject(new WorkerError("CLOSED", "KernelPool", "used after destroy()"));
    this.workers ??= WorkerPool.start<typeof kernelWorker>({
      script: this.workerUrl ?? workerScript(import.meta.url, "./kernel-worker.js", "KernelPool"),
      threads: this.threads,
      name: "KernelPool",
    });
    return this.workers;
  }

  /** Contiguous [start, end) chunks covering [0, len), each a multiple of SUM_BLOCK except the last. */
  private chunks(len: number): [number, number][] {
    const target = this.chunkElements ?? Math.ceil(len / (this.threads * 4));
    const size = Math.max(SUM_BLOCK, Math.ceil(target / SUM_BLOCK) * SUM_BLOCK);
    const out: [number, number][] = [];
    for (let s = 0; s < len; s += size) out.push([s, Math.min(len, s + size)]);
    return out;
  }

  private inline(len: number): boolean {
    return len < this.inlineBelow;
  }

  private async dispatch<R>(tasks: Task[]): Promise<R[]> {
    const p = await this.pool();
    return Promise.all(tasks.map((t) => p.run("run", t) as Promise<R>));
  }

  /**
   * Runs an elementwise kernel over whole arrays. `arrays` are in the kernel's argument order with the
   * output last (axpy: [x, y], y updated in place); `scalars` as listed for `ElementwiseOp`.
   */
  async elementwise(op: ElementwiseOp, arrays: FloatArray[], scalars: number[] = []): Promise<void> {
    const sig = ELEMENTWISE_SIGNATURE[op];
    if (!sig) throw new KernelError(`pool: unknown elementwise op ${String(op)}`);
    if (arrays.length !== sig.arrays || scalars.length < sig.scalars) {
      throw new KernelError(
        `pool ${op}: takes ${sig.arrays} arrays (output last) and ${sig.scalars} scalars, got ${arrays.length} and ${scalars.length}`,
      );
    }
    const len = arrays[0].length;
    arrays.forEach((a, i) => {
      expectLength(`pool ${op} array ${i}`, a, len);
    });
    if (this.inline(len)) {
      runTask({ kind: "elementwise", op, arrays: [], scalars, start: 0, end: len }, arrays);
      return;
    }
    const specs = arrays.map((a, i) => describe(`pool ${op} array ${i}`, a));
    await this.dispatch(
      this.chunks(len).map(([start, end]) => ({
        kind: "elementwise",
        op,
        arrays: specs,
        scalars,
        start,
        end,
      })),
    );
  }

  private async reduce(op: RangeReduceOp, x: FloatArray): Promise<(Float64Array | number)[]> {
    if (this.inline(x.length)) {
      return [
        runTask({ kind: "reduce", op, arrays: [], start: 0, end: x.length }, [x]) as Float64Array | number,
      ];
    }
    const spec: ArraySpec = describe(`pool ${op}`, x);
    return this.dispatch(
      this.chunks(x.length).map(([start, end]) => ({ kind: "reduce", op, arrays: [spec], start, end })),
    );
  }

  /** Sum along D, bit-identical to `kernels.sum`. */
  async sum(x: FloatArray): Promise<number> {
    return combineBlockSums((await this.reduce("blockSums", x)) as Float64Array[]);
  }

  /** Mean along D, identical to `kernels.mean`. */
  async mean(x: FloatArray): Promise<number> {
    return (await this.sum(x)) / x.length;
  }

  /** Minimum (NaN if any NaN), identical to `kernels.min`. */
  async min(x: FloatArray): Promise<number> {
    let m = Number.POSITIVE_INFINITY;
    for (const v of (await this.reduce("min", x)) as number[]) {
      if (Number.isNaN(v)) return Number.NaN;
      if (v < m) m = v;
    }
    return m;
  }

  /** Maximum (NaN if any NaN), identical to `kernels.max`. */
  async max(x: FloatArray): Promise<number> {
    let m = Number.NEGATIVE_INFINITY;
    for (const v of (await this.reduce("max", x)) as number[]) {
      if (Number.isNaN(v)) return Number.NaN;
      if (v > m) m = v;
    }
    return m;
  }

  /** Count of non-zero entries. */
  async countNonZero(x: FloatArray): Promise<number> {
    let c = 0;
    for (const v of (await this.reduce("countNonZero", x)) as number[]) c += v;
    return c;
  }

  private async taskAxis(
    op: TaskReduceOp | "weightedSum",
    x: FloatArray,
    n: number,
    d: number,
    out: FloatArray,
    scalars: number[],
  ): Promise<FloatArray> {
    expectMatrix(`pool ${op}`, x, n, d);
    expectLength(`pool ${op} output`, out, d);
    if (this.inline(n * d)) {
      runTask({ kind: "tasks", op, arrays: [], scalars, n, d, start: 0, end: d }, [x, out]);
      return out;
    }
    const specs = [describe(`pool ${op} input`, x), describe(`pool ${op} output`, out)];
    await this.dispatch(
      this.chunks(d).map(([start, end]) => ({ kind: "tasks", op, arrays: specs, scalars, n, d, start, end })),
    );
    return out;
  }

  /** `kernels.reduceTasks` over column chunks: out (D entries) = op over the n rows of x. */
  reduceTasks(op: TaskReduceOp, x: FloatArray, n: number, d: number, out: FloatArray): Promise<FloatArray> {
    return this.taskAxis(op, x, n, d, out, []);
  }

  /** `kernels.weightedSumTasks` over column chunks. */
  weightedSumTasks(
    x: FloatArray,
    n: number,
    d: number,
    weights: ArrayLike<number>,
    out: FloatArray,
  ): Promise<FloatArray> {
    expectLength("pool weightedSum weights", weights, n);
    return this.taskAxis("weightedSum", x, n, d, out, Array.from(weights));
  }

  /**
   * Exact order statistics of every row of an n x D array, rows spread over the workers:
   * result[r][j] = sorted(row r)[ks[r][j]] (or ks[j] for every row), identical to `selectKths`.
   */
  async selectRows(
    x: FloatArray,
    n: number,
    d: number,
    ks: readonly number[] | readonly (readonly number[])[],
  ): Promise<number[][]> {
    expectMatrix("pool selectRows", x, n, d);
    const perRow = (r: number): number[] => {
      const k = ks[r];
      return Array.isArray(k) ? [...(k as number[])] : [...(ks as number[])];
    };
    if (ks.length > 0 && Array.isArray(ks[0]) && ks.length !== n) {
      throw new KernelError(`pool selectRows: ${ks.length} rank lists for ${n} rows`);
    }
    const tasks: Task[] = [];
    for (let r = 0; r < n; r++)
      tasks.push({ kind: "select", arrays: [], start: r * d, end: (r + 1) * d, ks: perRow(r) });
    let out: Float64Array[];
    if (this.inline(n * d)) {
      out = tasks.map((t) => runTask(t, [x]) as Float64Array);
    } else {
      const spec = describe("pool selectRows", x);
      out = await this.dispatch<Float64Array>(tasks.map((t) => ({ ...t, arrays: [spec] })));
    }
    return out.map((v) => Array.from(v));
  }

  /** Stops the worker threads; the pool cannot be used afterwards. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const p = this.workers;
    this.workers = undefined;
    if (p) await (await p.catch(() => undefined))?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
