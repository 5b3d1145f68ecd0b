/**
 * Runs training jobs on N worker threads (tfjs-wasm is single-threaded in Node, so parallelism = independent
 * models), or in this thread one after another when N = 0. Results do not depend on the choice. The workers
 * are the built package's train-worker.js (@x/tensor-core/workers): running from TypeScript sources with
 * N > 0 is a WorkerError NOT_BUILT, never a silent fallback.
 */
import { WorkerPool, WorkerTaskError, workerScript } from "@x/tensor-core/workers";
import { type JobResult, runJob, type TrainJob } from "./jobs.js";
import type trainWorker from "./train-worker.js";
import type { TrainProgress } from "./train-worker.js";

export type JobProgress = (id: string, done: number, total: number) => void;

const POOL = "zoo trainers";

/** Runs every job and returns the results in job order. Jobs are started in the caller's order (longest first). */
export async function runJobs(
  jobs: readonly TrainJob[],
  workers: number,
  progress?: JobProgress,
): Promise<JobResult[]> {
  if (workers <= 0 || jobs.length === 0) {
    const results: JobResult[] = [];
    for (const job of jobs) results.push(await runJob(job, (d, t) => progress?.(job.id, d, t)));
    return results;
  }
  const pool = await WorkerPool.start<typeof trainWorker>({
    script: workerScript(import.meta.url, "./train-worker.js", POOL),
    threads: Math.min(workers, jobs.length),
    name: POOL,
  });
  try {
    const onProgress = (p: unknown) => {
      const { id, done, total } = p as TrainProgress;
      progress?.(id, done, total);
    };
    const results = await Promise.all(
      jobs.map((job) =>
        pool.run("train", job, { onProgress }).catch((e: unknown) => {
          const why =
            e instanceof WorkerTaskError ? (e.remote.stack ?? e.remote.message) : (e as Error).message;
          throw new Error(`training job ${job.id} failed in a worker: ${why}`, { cause: e });
        }),
      ),
    );
    await pool.close();
    return results;
  } finally {
    await pool.terminate();
  }
}
