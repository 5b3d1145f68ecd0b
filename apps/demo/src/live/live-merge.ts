/**
 * The live panel's engine: merge the model zoo in the browser with a chosen method and its parameters,
 * and score every task on its test subset. The zoo comes from the live-merge bundle served with the
 * page (`data/live-merge/`, written by `writeLiveMergeBundle` of @x/zoo); the merge is @x/merging's
 * (`mergeFlat` from `@x/merging/browser`, the library's own method implementations) and the scoring is
 * @x/zoo's typed-array forward pass (`@x/zoo/browser`). Without a bundle, {@link loadLiveMerger} says
 * so and the panel shows no numbers.
 */
import { mergeFlat, type RawParams } from "@x/merging/browser";
import {
  backboneLayout,
  evaluateLiveBundle,
  LIVE_BUNDLE_DIR,
  LIVE_BUNDLE_MANIFEST,
  type LiveBundle,
  liveBundleFiles,
  openLiveBundle,
  parseLiveManifest,
} from "@x/zoo/browser";

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

/** Merges and scores a loaded bundle (the page's engine; also what the browser test drives). */
export function liveMerger(bundle: LiveBundle): LiveMerger {
  const layout = backboneLayout(bundle.arch);
  const out = new Float32Array(bundle.base.length);
  const m = bundle.manifest;
  const kib = Math.round(((1 + bundle.models.length) * bundle.base.length * 4) / 1024);
  const tasks = m.tasks.map((t) => t.name);
  return {
    tasks,
    testCounts: m.tasks.map((t) => t.testCount),
    expertAccuracy: m.tasks.map((t) => t.expertTestSubset),
    description: `${m.zoo.name}: ${m.tasks.length} tasks, MLP ${m.arch.input}→${m.arch.hidden.join("→")} (${bundle.base.length.toLocaleString("en-US")} backbone parameters, ${kib.toLocaleString("en-US")} KiB of weights), ${m.tasks[0]?.testCount ?? 0} test images per task.`,
    async mergeAndEvaluate(method, params) {
      const call = liveMergeCall(method, params);
      const t0 = performance.now();
      mergeFlat(call.method, { layout, base: bundle.base, models: bundle.models, params: call.params, out });
      const t1 = performance.now();
      const testAccuracy = evaluateLiveBundle(bundle, out);
      const t2 = performance.now();
      return { tasks, testAccuracy, mergeMs: t1 - t0, evalMs: t2 - t1 };
    },
  };
}

/**
 * Fetches the live-merge bundle from `data/live-merge/` (relative to the page) and returns a merger;
 * `available: false` with the reason when the page is served without a bundle (`served` false, as
 * `data/index.json` says: not an error, nothing is requested) or the bundle cannot be read.
 */
export async function loadLiveMerger(
  served: boolean,
  fetchFn: typeof fetch = fetch,
): Promise<LiveMergerState> {
  if (!served) return { available: false, reason: LIVE_NO_BUNDLE_REASON };
  const base = `data/${LIVE_BUNDLE_DIR}/`;
  let res: Response;
  try {
    res = await fetchFn(`${base}${LIVE_BUNDLE_MANIFEST}`, { cache: "no-store" });
  } catch (e) {
    return { available: false, reason: `Cannot fetch the live-merge bundle: ${String(e)}` };
  }
  if (res.status === 404) return { available: false, reason: LIVE_NO_BUNDLE_REASON };
  try {
    if (!res.ok) throw new Error(`${base}${LIVE_BUNDLE_MANIFEST}: HTTP ${res.status}`);
    const manifest = parseLiveManifest(await res.json());
    const files = new Map<string, ArrayBuffer>();
    await Promise.all(
      liveBundleFiles(manifest).map(async (f) => {
        const r = await fetchFn(`${base}${encodeURIComponent(f)}`);
        if (!r.ok) throw new Error(`${base}${f}: HTTP ${r.status}`);
        files.set(f, await r.arrayBuffer());
      }),
    );
    return { available: true, merger: liveMerger(openLiveBundle(manifest, files)) };
  } catch (e) {
    return {
      available: false,
      reason: `The live-merge bundle cannot be read: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
