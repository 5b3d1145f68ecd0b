/**
 * The live panel's engine: merge the model zoo in the browser with a chosen method and its parameters,
 * and score every task on its test subset. The zoo comes from the live-merge bundle served with the
 * page (`data/live-merge/`, written by `writeLiveMergeBundle` of @x/zoo); the merge is @x/merging's
 * (`mergeFlat` from `@x/merging/browser`, the library's own method implementations) and the scoring is
 * @x/zoo's typed-array forward pass (`@x/zoo/browser`). Without a bundle, {@link loadLiveMerger} says
 * so and the panel shows no numbers.
 */
import { mergeFlat } from "@x/merging/browser";
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
import {
  LIVE_NO_BUNDLE_REASON,
  type LiveMerger,
  type LiveMergerState,
  liveMergeCall,
} from "./live-settings.js";

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
    engine: "page",
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
