/// <reference lib="webworker" />
/**
 * The live panel's worker: loads the live-merge bundle and merges / scores in its own thread, so the page
 * stays responsive while a merge runs. Messages: `load` (the page's URL, against which `data/live-merge/`
 * resolves) → `ready` (the merger's tasks and description) or `unavailable` (reason); `merge` (id,
 * method, params) → `result` (id, the `LiveMergeResult`) or `error` (id, message).
 */
import { loadLiveMerger } from "./live-merge.js";
import type { LiveMergeParams, LiveMerger, LiveMethod } from "./live-settings.js";

export type LiveWorkerRequest =
  | { readonly type: "load"; readonly pageUrl: string }
  | {
      readonly type: "merge";
      readonly id: number;
      readonly method: LiveMethod;
      readonly params: LiveMergeParams;
    };

export type LiveWorkerReply =
  | {
      readonly type: "ready";
      readonly tasks: readonly string[];
      readonly testCounts: readonly number[];
      readonly expertAccuracy: readonly number[];
      readonly description: string;
    }
  | { readonly type: "unavailable"; readonly reason: string }
  | {
      readonly type: "result";
      readonly id: number;
      readonly testAccuracy: readonly number[];
      readonly mergeMs: number;
      readonly evalMs: number;
    }
  | { readonly type: "error"; readonly id: number; readonly message: string };

declare const self: DedicatedWorkerGlobalScope;
let merger: LiveMerger | undefined;
const reply = (r: LiveWorkerReply) => self.postMessage(r);

self.onmessage = async (e: MessageEvent<LiveWorkerRequest>) => {
  const msg = e.data;
  if (msg.type === "load") {
    const state = await loadLiveMerger(true, (input, init) =>
      fetch(new URL(String(input), msg.pageUrl), init),
    );
    if (!state.available) {
      reply({ type: "unavailable", reason: state.reason });
      return;
    }
    merger = state.merger;
    const { tasks, testCounts, expertAccuracy, description } = merger;
    reply({ type: "ready", tasks, testCounts, expertAccuracy, description });
    return;
  }
  try {
    if (!merger) throw new Error("the live-merge bundle is not loaded");
    const r = await merger.mergeAndEvaluate(msg.method, msg.params);
    reply({ type: "result", id: msg.id, testAccuracy: r.testAccuracy, mergeMs: r.mergeMs, evalMs: r.evalMs });
  } catch (err) {
    reply({ type: "error", id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
};
