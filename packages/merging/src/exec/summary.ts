import { formatBytes } from "@x/tensor-core";
import type { MergeCheckpointsResult } from "./prepared.js";

/** A merge's result in one line: tensors merged and kept, method and scope, output, size, time, warnings. */
export function formatMergeSummary(r: MergeCheckpointsResult): string {
  const nonFinite = r.nonFinite.reduce((s, e) => s + e.count, 0);
  return (
    `merged ${r.tensorsMerged} tensors` +
    (r.tensorsCopied ? `, kept ${r.tensorsCopied}` : "") +
    ` with ${r.method} (${r.scope} scope) into ${r.outDir}: ${formatBytes(r.outputBytes)} in ${r.seconds.toFixed(1)}s` +
    (r.warnings.length ? `, ${r.warnings.length} warning(s)` : "") +
    (r.nonFinite.length ? `, ${nonFinite} non-finite input value(s) merged as they are` : "")
  );
}
