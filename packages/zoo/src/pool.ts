/**
 * Runs training jobs on N worker threads (tfjs-wasm is single-threaded in Node, so parallelism = independent
 * models). The worker file must be built JavaScript; when it is missing (tests running from TypeScript sources)
 * or N = 0 the jobs run in-process one after another. Results do not depend on the choice.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type JobResult, runJob, type TrainJob } from "./jobs.js";

export type JobProgress = (id: string, done: number, total: number) => void;

export function workerScript(): URL | undefined {
  const url = new URL("./train-worker.js", import.meta.url);
  return url.protocol === "file:" && existsSync(fileURLToPath(url)) ? url : undefined;
}

/** Runs every job and returns the results in job order. Jobs are started longest-first by the caller's order. */
export async function runJobs(
  jobs: readonly TrainJob[],
  workers: number,
  progress?: JobProgress,
): Promise<JobResult[]> {
  const script = workerScript();
  const results = new Map<string, JobResult>();
  if (workers <= 0 || !script || jobs.length === 0) {
    for (const job of jobs) results.set(job.id, await runJob(job, (d, t) => progress?.(job.id, d, t)));
    return jobs.map((j) => results.get(j.id)!);
  }
  const queue = [...jobs];
  const threads = Array.from({ length: Math.min(workers, jobs.length) }, () => new Worker(script));
  try {
    await Promise.all(
      threads.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const job = queue.shift();
              if (!job) return resolve();
              w.postMessage(job);
            };
            w.on(
              "message",
              (m: {
                type: string;
                id?: string;
                done?: number;
                total?: number;
                result?: JobResult;
                message?: string;
              }) => {
                if (m.type === "progress") progress?.(m.id!, m.done!, m.total!);
                else if (m.type === "result") {
                  results.set(m.result!.id, m.result!);
                  next();
                } else if (m.type === "error")
                  reject(new Error(`training job ${m.id} failed in a worker: ${m.message}`));
              },
            );
            w.on("error", reject);
            w.on("exit", (code) => {
              if (code !== 0) reject(new Error(`training worker exited with code ${code}`));
            });
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return jobs.map((j) => results.get(j.id)!);
}
