// Helper threads for the fused dense-linear path: each piece's elements are split between this thread
// and the helpers, which run the same kernel on their ranges of the same (shared) input and output
// buffers. Each range is computed element by element exactly as on one thread, so the bytes do not
// depend on the split.

import { WorkerPool, workerScript } from "@x/tensor-core/workers";
import type { MergeConfig } from "../config/index.js";
import { MergeInputError } from "../errors.js";
import type { DenseLinearPlan } from "../method.js";
import { type LinearDType, linearBytes, type RawTensor } from "./fused-linear.js";
import { type FusedRangeTask, runFusedRange } from "./fused-range.js";
import type fusedWorker from "./fused-worker.js";

/** Elements of a range boundary are multiples of this (whole SIMD vectors, aligned views). */
const ALIGN = 64;

const POOL = "fused-linear helpers";

/** Helper threads that compute ranges of each piece while this thread computes the first. */
export class FusedHelpers {
  private constructor(private readonly pool: WorkerPool<typeof fusedWorker>) {}

  /** Starts `count` helper threads (the built package's fused-worker.js). */
  static async start(count: number): Promise<FusedHelpers> {
    const pool = await WorkerPool.start<typeof fusedWorker>({
      script: workerScript(import.meta.url, "./fused-worker.js", POOL),
      threads: count,
      name: POOL,
    });
    return new FusedHelpers(pool);
  }

  get size(): number {
    return this.pool.threads;
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
    const parts = this.size + 1;
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
    const done: Promise<void>[] = [];
    for (let h = 0; h < this.size; h++) {
      const start = Math.min(count, (h + 1) * per);
      const n = Math.min(count, start + per) - start;
      if (n > 0) done.push(this.pool.runOn(h, "range", task(start, n)));
    }
    // This thread's range while the helpers work on theirs.
    runFusedRange(task(0, Math.min(count, per)));
    await Promise.all(done).catch((e: Error) => {
      throw new MergeInputError(`fused helper thread: ${e.message}`, { cause: e });
    });
  }

  async close(): Promise<void> {
    await this.pool.terminate();
  }
}
