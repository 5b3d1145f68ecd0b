// The one module of @x/merging that starts worker threads. Every threaded part of the package (merge
// workers, fused-linear helpers, PCB score workers, PCB fast-path kernel threads) finds its built
// script and starts its workers through these two functions, so moving to a shared worker harness is
// an edit of this file only.
//
// Worker scripts run from the built package: next to the calling module when it runs from dist/, or in
// dist/ when it runs from src/ (tests through the source alias).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/** The first of `candidates` (relative to `from`, an import.meta.url) that exists, else undefined. */
export function findBuiltScript(from: string, candidates: readonly string[]): URL | undefined {
  for (const rel of candidates) {
    const url = new URL(rel, from);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

/**
 * Starts the worker script `script` with `workerData`. `detached` workers do not keep the process
 * alive (they are terminated by their owner, or die with the process).
 */
export function startWorker(script: URL, workerData?: unknown, detached = false): Worker {
  const w = new Worker(script, workerData === undefined ? {} : { workerData });
  if (detached) w.unref();
  return w;
}
