// The final merge of tensor-scope methods on worker threads: each worker prepares the same merge (opens
// the inputs, plans the same tensors) and merges whole tensors on request; encoded bytes come back as
// transferred buffers and this thread writes them to their shard offsets. One tensor in flight per worker
// keeps memory at threads × (inputs + 2) × largest tensor.

import type { MergeConfig, ParameterMap } from "../config/index.js";
import { MergeInputError, NonFiniteInputError } from "../errors.js";
import { findBuiltScript, startWorker } from "../threads.js";

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
}

/** Non-finite input values a worker met (with allowNonfinite). */
export interface WorkerNonFinite {
  readonly model: string;
  readonly tensor: string;
  readonly count: number;
}

export type ToWorker = { type: "tensor"; index: number } | { type: "close" };
export type FromWorker =
  | { type: "ready"; count: number }
  | { type: "done"; index: number; bytes: Uint8Array; nonFinite: readonly WorkerNonFinite[] }
  | { type: "error"; message: string; nonFinite?: WorkerNonFinite };

/** The built worker script (next to this module in dist/, or dist/ when running from src/). */
export function findMergeWorker(): URL | undefined {
  return findBuiltScript(import.meta.url, ["./merge-worker.js", "../../dist/exec/merge-worker.js"]);
}

/**
 * Merges the tensors `indices` on `threads` workers, calling `write(index, bytes)` for each result
 * (writes are serialized). Returns the number of workers used. Any worker error stops all of them.
 */
export async function runWorkers(
  url: URL,
  threads: number,
  indices: readonly number[],
  job: MergeWorkerData & {
    tensorCount: number;
    write: (index: number, bytes: Uint8Array) => Promise<void>;
    nonFinite: (found: readonly WorkerNonFinite[]) => void;
  },
): Promise<number> {
  const count = Math.min(threads, indices.length);
  const data: MergeWorkerData = {
    config: job.config,
    modelParameters: job.modelParameters,
    prepare: job.prepare,
  };
  const workers = Array.from({ length: count }, () => startWorker(url, data));
  let next = 0;
  let writing = Promise.resolve();
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next < indices.length)
                w.postMessage({ type: "tensor", index: indices[next++]! } satisfies ToWorker);
              else resolve();
            };
            w.on("message", (msg: FromWorker) => {
              if (msg.type === "ready") {
                if (msg.count !== job.tensorCount) {
                  reject(
                    new MergeInputError(
                      `merge worker planned ${msg.count} tensors, expected ${job.tensorCount}`,
                    ),
                  );
                } else feed();
              } else if (msg.type === "done") {
                job.nonFinite(msg.nonFinite);
                writing = writing.then(() => job.write(msg.index, msg.bytes));
                writing.catch(reject);
                feed();
              } else if (msg.nonFinite) {
                const f = msg.nonFinite;
                reject(new NonFiniteInputError(f.model, f.tensor, f.count));
              } else {
                reject(new MergeInputError(`merge worker: ${msg.message}`));
              }
            });
            w.on("error", reject);
            w.on("exit", (code) => {
              if (next < indices.length || code !== 0)
                reject(new MergeInputError(`merge worker exited with code ${code}`));
            });
          }),
      ),
    );
    await writing;
    // Let each worker close its input files, then make sure it is gone.
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void w.terminate().then(() => resolve()), 5000);
            w.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            w.postMessage({ type: "close" } satisfies ToWorker);
          }),
      ),
    );
    return count;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
