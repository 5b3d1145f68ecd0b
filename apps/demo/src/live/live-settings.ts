/**
 * The live panel's vocabulary, without its engine: the methods it offers, their parameters, the
 * @x/merging call behind a setting, and the merger's interface. The page's main script imports only
 * this; the engine (`live-merge.ts`: @x/merging/browser, @x/zoo/browser) runs in the live worker.
 */
import type { RawParams } from "@x/merging/browser";

/** Methods the live panel offers (registry names of @x/merging). */
export const LIVE_METHODS = [
  { id: "task_arithmetic", label: "Task arithmetic", usesRatio: false },
  { id: "ties", label: "TIES-Merging", usesRatio: false },
  { id: "pcb", label: "PCB-Merging", usesRatio: true },
] as const;

export type LiveMethod = (typeof LIVE_METHODS)[number]["id"];

export interface LiveMergeParams {
  /** Scaling λ of the merged task vector. */
  readonly lambda: number;
  /** PCB's kept ratio r (fraction of entries kept), for `pcb`. */
  readonly pcbRatio?: number;
}

export interface LiveMergeResult {
  readonly tasks: readonly string[];
  /** Test accuracy per task, fractions in [0, 1], in the order of `tasks`. */
  readonly testAccuracy: readonly number[];
  /** Milliseconds spent merging and scoring. */
  readonly mergeMs: number;
  readonly evalMs: number;
}

export interface LiveMerger {
  /** Task names, in the order of `testAccuracy`. */
  readonly tasks: readonly string[];
  /** Test images per task (the bundle's subset of each test split). */
  readonly testCounts: readonly number[];
  /** Each expert's accuracy on its own task's test subset (the reference a merge is compared with). */
  readonly expertAccuracy: readonly number[];
  /** What the bundle holds, for the panel's note (zoo, sizes). */
  readonly description: string;
  /** Where merges run: a Web Worker, or the page's own thread. */
  readonly engine: "worker" | "page";
  mergeAndEvaluate(method: LiveMethod, params: LiveMergeParams): Promise<LiveMergeResult>;
}

export type LiveMergerState =
  | { readonly available: true; readonly merger: LiveMerger }
  | { readonly available: false; readonly reason: string };

/** TIES as the merging benchmark runs it (the PCB paper's variant), with its top-k fraction fixed. */
export const LIVE_TIES_DENSITY = 0.2;
/** PCB's ratio when none is given. */
export const LIVE_DEFAULT_PCB_RATIO = 0.1;

/**
 * The @x/merging call behind a control setting: registry name and parameters. The Node API called with
 * the same (`mergeFlat(method, { layout, base, models, params })`) gives the same merged backbone.
 */
export function liveMergeCall(method: LiveMethod, p: LiveMergeParams): { method: string; params: RawParams } {
  switch (method) {
    case "task_arithmetic":
      return { method, params: { lambda: p.lambda } };
    case "ties":
      return { method, params: { variant: "pcb", density: LIVE_TIES_DENSITY, lambda: p.lambda } };
    case "pcb":
      return { method, params: { ratio: p.pcbRatio ?? LIVE_DEFAULT_PCB_RATIO, lambda: p.lambda } };
  }
}

export const LIVE_NO_BUNDLE_REASON =
  "No live-merge bundle is served with this page, so nothing is computed here. `x demo` writes one (the model zoo's weights and a test subset per task) into the data folder; `writeLiveMergeBundle` of @x/zoo does the same from code.";
