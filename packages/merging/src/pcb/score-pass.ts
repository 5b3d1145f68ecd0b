// The per-chunk work of PCB streaming-global's balance-score pass, shared by the main thread and
// the score workers so both run the same code: column sums, scores written over T in place, the
// running maximum and the pass-1 histogram of each task's scores.

import type { StreamingQuantile } from "@x/tensor-core";
import type { NanGuard, PcbInter } from "./options.js";
import { columnSums, type MagnitudeStats, pairwiseScores, scoreRow, storedRows } from "./score.js";

/**
 * B over one chunk of columns: `rows` hold T (one slice per task) and receive B; `max[i]` and
 * `sels[i]` (pass 1) take task i's scores. `colSum` is scratch of at least the chunk length.
 */
export function scoreChunk(
  rows: readonly Float32Array[],
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
  colSum: Float32Array,
  max: Float32Array,
  sels: readonly StreamingQuantile[],
): void {
  const n = rows.length;
  const len = rows[0].length;
  const none = new Float32Array(0);
  // Each kernel reads an element of T before writing B at the same index.
  if (inter === "pairwise") pairwiseScores(storedRows(rows), mag, guard, rows, none);
  else {
    const cs = columnSums(storedRows(rows), mag, inter, guard, colSum.subarray(0, len), none);
    for (let i = 0; i < n; i++) scoreRow(i, rows[i], n, cs, mag, guard, rows[i]);
  }
  for (let i = 0; i < n; i++) {
    const b = rows[i];
    let mx = max[i];
    for (let k = 0; k < len; k++) if (b[k] > mx) mx = b[k];
    max[i] = mx;
    sels[i].addTop(b);
  }
}
