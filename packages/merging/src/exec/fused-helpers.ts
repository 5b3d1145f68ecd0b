// Helper threads for the fused dense-linear path: each piece's elements are split between this thread
// and the helpers, which run the same kernel on their ranges of the same (shared) input and output
// buffers. Each range is computed element by element exactly as on one thread, so the bytes do not
// depend on the split.

import type { Worker } from "node:worker_threads";
import type { MergeConfig } from "../config/index.js";
import { MergeInputError } from "../errors.js";
import type { DenseLinearPlan } from "../method.js";
import { findBuiltScript, startWorker } from "../threads.js";
import { fusedLinearMerge, type LinearDType, linearBytes, type RawTensor } from "./fused-linear.js";

/** A range of one piece for a helper: views into shared buffers, by buffer and byte offset. */
export interface FusedRangeTask {
  readonly inputs: readonly { dtype: LinearDType; buffer: SharedArrayBuffer; byteOffset: number }[];
  readonly out: { dtype: LinearDType; buffer: SharedArrayBuffer; byteOffset: number };
  readonly count: number;
  readonly weights: Float64Array;
  readonly scale: number;
  readonly computeDtype: MergeConfig["dtype"];
}

export type FromFusedHelper = { ok: true } | { ok: false; message: string };

/** Elements of a range boundary are multiples of this (whole SIMD vectors, aligned views). */
const ALIGN = 64;

/** The built helper script (next to this module in dist/, or dist/ when running from src/). */
export function findFusedHelper(): URL | undefined {
  return findBuiltScript(import.meta.url, ["./fused-worker.js", "../../dist/exec/fused-worker.js"]);
}

/** Runs the fused kernel on one element range of stored inputs (views built from shared buffers). */
export function runFusedRange(task: FusedRangeTask): void {
  const view = (t: { dtype: LinearDType; buffer: SharedArrayBuffer; byteOffset: number }): RawTensor => ({
    dtype: t.dtype,
    bytes: new Uint8Array(t.buffer, t.byteOffset, task.count * linearBytes(t.dtype)),
  });
  const [base, ...models] = task.inputs.map(view);
  fusedLinearMerge(
    base!,
    models,
    { weights: task.weights, scale: task.scale },
    task.computeDtype,
    task.out.dtype,
    view(task.out).bytes,
  );
}

export class FusedHelpers {
  private readonly workers: Worker[];
  private readonly pending: ((msg: FromFusedHelper) => void)[] = [];
  private failure: Error | undefined;

  constructor(url: URL, count: number) {
    this.workers = Array.from({ length: count }, () => startWorker(url));
    this.workers.forEach((w, i) => {
      w.on("message", (msg: FromFusedHelper) => this.pending[i]?.(msg));
      w.on("error", (err) => {
        this.failure = err;
        this.pending[i]?.({ ok: false, message: err.message });
      });
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Computes `count` elements of a piece: the first range on this thread, the others on the helpers.
   * `raw` and `out` must be views of SharedArrayBuffers.
   */
  async run(
    raw: readonly RawTensor[],
    plan: DenseLinearPlan,
    computeDtype: MergeConfig["dtype"],
    outDtype: LinearDType,
    out: Uint8Array,
    count: number,
  ): Promise<void> {
    if (this.failure) throw new MergeInputError(`fused helper thread failed: ${this.failure.message}`);
    const parts = this.workers.length + 1;
    const per = Math.ceil(count / parts / ALIGN) * ALIGN;
    const task = (start: number, n: number): FusedRangeTask => ({
      inputs: raw.map((r) => ({
        dtype: r.dtype,
        buffer: r.bytes.buffer as SharedArrayBuffer,
        byteOffset: r.bytes.byteOffset + start * linearBytes(r.dtype),
      })),
      out: {
        dtype: outDtype,
        buffer: out.buffer as SharedArrayBuffer,
        byteOffset: out.byteOffset + start * linearBytes(outDtype),
      },
      count: n,
      weights: plan.weights,
      scale: plan.scale,
      computeDtype,
    });
    const done: Promise<FromFusedHelper>[] = [];
    for (let h = 0; h < this.workers.length; h++) {
      const start = Math.min(count, (h + 1) * per);
      const n = Math.min(count, start + per) - start;
      if (n <= 0) continue;
      done.push(
        new Promise<FromFusedHelper>((resolve) => {
          this.pending[h] = resolve;
        }),
      );
      this.workers[h]!.postMessage(task(start, n));
    }
    // This thread's range while the helpers work on theirs.
    runFusedRange(task(0, Math.min(count, per)));
    for (const msg of await Promise.all(done)) {
      if (!msg.ok) throw new MergeInputError(`fused helper thread: ${msg.message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
