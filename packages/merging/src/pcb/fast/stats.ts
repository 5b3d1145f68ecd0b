// The fast path's global statistics over every slab: the magnitude pass (clamp ranks of |T| per task,
// magnitude.ts) and the score pass (drop threshold, maximum and candidates per task, scores.ts). Each
// statistic is an exact order statistic found by counting passes over value windows chosen from the
// sample; a window that misses is widened once, then an exact histogram sweep takes over
// (docs/pcb-fast-path.md).

import type { MagnitudeStats, ScoreStats } from "../score.js";
import { magnitudeStats } from "./magnitude.js";
import { scoreStats } from "./scores.js";
import { type FastPcbState, FastPcbUnsupported } from "./state.js";

export { sureBelowBound } from "./scores.js";

/**
 * The global statistics of the fast path. Throws PcbError for a constant row under nan_guard "error"
 * (as the general path), FastPcbUnsupported for what it does not reproduce.
 */
export async function computeStats(
  fp: FastPcbState,
): Promise<{ magnitude: MagnitudeStats; score: ScoreStats }> {
  const o = fp.spec.options;
  // The workers start up (≈ 70 ms) while this thread takes the sample.
  for (const slab of fp.slabs) slab.threads.start();
  const magPaths: string[] = Array.from({ length: 2 * fp.n }, () => "sweep");
  const mag = await magnitudeStats(fp, magPaths);
  for (let i = 0; i < fp.n; i++) {
    if (mag.range[i] === 0 && o.nanGuard === "off")
      throw new FastPcbUnsupported("pcb fast path: constant magnitude row with nan_guard off");
  }
  // The intra-factor caches hold values for these magnitude statistics only.
  for (const slab of fp.slabs) slab.clearCaches();
  const { score, paths } = await scoreStats(fp, mag);
  for (let i = 0; i < fp.n; i++) {
    const t = score.threshold[i]!;
    if (!Number.isFinite(t) || !Number.isFinite(score.max[i]!))
      throw new FastPcbUnsupported("pcb fast path: non-finite drop threshold or maximum");
    if (Math.fround(score.max[i]! - t) === 0 && o.nanGuard === "off")
      throw new FastPcbUnsupported("pcb fast path: constant score row with nan_guard off");
  }
  fp.hooks.onPaths?.({ magnitude: magPaths, threshold: paths });
  return { magnitude: mag, score };
}
