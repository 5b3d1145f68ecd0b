// The final merge of tensor-scope methods on worker threads: each worker prepares the same merge (opens
// the inputs, plans the same tensors) and merges whole tensors on request; encoded bytes come back as
// moved buffers and this thread writes them to their shard offsets. One tensor in flight per worker
// keeps memory at threads × (inputs + 2) × largest tensor.

import { type WorkerError, WorkerPool, WorkerTaskError, workerScript } from "@x/tensor-core/workers";
import type { MergeConfig, ParameterMap } from "../config/index.js";
import { MergeInputError, NonFiniteInputError } from "../errors.js";
import type mergeWorker from "./merge-worker.js";

/** What a merge worker needs to rebuild the prepared merge. */
export interface MergeWorkerData {
  readonly config: MergeConfig;
  readonly modelParameters?: readonly ParameterMap[];
  readonly prepare: {
    seed: number;
    baseDir?: string;
    readConcurrency: number;
    allowNonfinite: boolean;
    architectureFiles?: readonly string[];
  };
  /** Tensors this thread planned: a worker that plans others refuses to start. */
  readonly tensorCount: number;
}

/** Non-finite input values a worker met (with allowNonfinite). */
export interface WorkerNonFinite {
  readonly model: string;
  readonly tensor: string;
  readonly count: number;
}

const POOL = "merge workers";

/** A worker's failure as this package's error: the non-finite input it met, or what went wrong. */
function mergeError(e: unknown): Error {
  if (!(e instanceof WorkerTaskError)) return e as Error;
  const { name, message, details } = e.remote;
  if (name === "NonFiniteInputError") {
    return new NonFiniteInputError(String(details.model), String(details.tensor), Number(details.count));
  }
  return new MergeInputError(`merge worker: ${message}`, { cause: e });
}

/**
 * Merges the tensors `indices` on up to `threads` workers, calling `write(index, bytes)` for each result
 * (writes are serialized). Returns the number of workers used. Any worker error stops all of them.
 */
export async function runWorkers(
  threads: number,
  indices: readonly number[],
  job: MergeWorkerData & {
    write: (index: number, bytes: Uint8Array) => Promise<void>;
    nonFinite: (found: readonly WorkerNonFinite[]) => void;
  },
): Promise<number> {
  const count = Math.min(threads, indices.length);
  const init: MergeWorkerData = {
    config: job.config,
    modelParameters: job.modelParameters,
    prepare: job.prepare,
    tensorCount: job.tensorCount,
  };
  const pool = await WorkerPool.start<typeof mergeWorker>({
    script: workerScript(import.meta.url, "./merge-worker.js", POOL),
    threads: count,
    init,
    name: POOL,
  }).catch((e: WorkerError) => {
    throw mergeError(e);
  });
  let next = 0;
  let writing = Promise.resolve();
  let writeFailed: { error: unknown } | undefined;
  try {
    // One feeder per worker: the next tensor as soon as its previous one is back.
    await Promise.all(
      Array.from({ length: count }, async () => {
        while (next < indices.length && !writeFailed) {
          const index = indices[next++]!;
          const { bytes, nonFinite } = await pool.run("tensor", index).catch((e: unknown) => {
            throw mergeError(e);
          });
          job.nonFinite(nonFinite);
          writing = writing.then(() => job.write(index, bytes));
          writing.catch((error: unknown) => {
            writeFailed ??= { error };
          });
        }
      }),
    );
    await writing;
    // Each worker closes its input files (teardown), then ends.
    await pool.close();
    return count;
  } finally {
    await pool.terminate();
  }
}
