/**
 * The page's side of the live panel: a `LiveMerger` that runs in a Web Worker (`live-worker.ts`), so
 * that merging and scoring the zoo never blocks the page. Falls back to merging in the page's thread
 * (the engine then loads as a separate script) when the browser cannot start a module worker.
 */

import {
  LIVE_NO_BUNDLE_REASON,
  type LiveMergeResult,
  type LiveMerger,
  type LiveMergerState,
} from "./live-settings.js";
import type { LiveWorkerReply, LiveWorkerRequest } from "./live-worker.js";

/** The engine in this thread, loaded (as a separate script) only when no worker can run it. */
async function loadInThisThread(): Promise<LiveMergerState> {
  const { loadLiveMerger } = await import("./live-merge.js");
  return loadLiveMerger(true);
}

/** The live merger for the page: in a worker when possible; `served` is `data/index.json`'s `liveBundle`. */
export async function loadLiveMergerForPage(served: boolean): Promise<LiveMergerState> {
  if (!served) return { available: false, reason: LIVE_NO_BUNDLE_REASON };
  let worker: Worker;
  try {
    worker = new Worker(new URL("./live-worker.ts", import.meta.url), { type: "module" });
  } catch {
    return loadInThisThread();
  }
  const pending = new Map<number, { resolve: (r: LiveMergeResult) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let tasks: readonly string[] = [];
  let started = false;
  const ready = new Promise<LiveMergerState>((resolve) => {
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      // A worker that cannot start (or dies while loading): merge in this thread instead. One that
      // dies later fails the merges it was running (the panel says so).
      if (!started) resolve(loadInThisThread());
      for (const p of pending.values()) p.reject(new Error(`the live-merge worker stopped: ${e.message}`));
      pending.clear();
    };
    worker.onmessage = (e: MessageEvent<LiveWorkerReply>) => {
      const r = e.data;
      if (r.type === "unavailable") {
        worker.terminate();
        resolve({ available: false, reason: r.reason });
      } else if (r.type === "ready") {
        started = true;
        tasks = r.tasks;
        const merger: LiveMerger = {
          tasks: r.tasks,
          testCounts: r.testCounts,
          expertAccuracy: r.expertAccuracy,
          description: r.description,
          engine: "worker",
          mergeAndEvaluate(method, params) {
            const id = ++nextId;
            return new Promise((res, rej) => {
              pending.set(id, { resolve: res, reject: rej });
              worker.postMessage({ type: "merge", id, method, params } satisfies LiveWorkerRequest);
            });
          },
        };
        resolve({ available: true, merger });
      } else {
        const p = pending.get(r.id);
        pending.delete(r.id);
        if (r.type === "result")
          p?.resolve({ tasks, testAccuracy: r.testAccuracy, mergeMs: r.mergeMs, evalMs: r.evalMs });
        else p?.reject(new Error(r.message));
      }
    };
  });
  worker.postMessage({ type: "load", pageUrl: location.href } satisfies LiveWorkerRequest);
  return ready;
}
