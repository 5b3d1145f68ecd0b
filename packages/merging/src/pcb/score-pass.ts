// The per-chunk work of PCB streaming-global's balance-score pass, shared by the main thread and
// the score workers so both run the same code: column sums, scores written over T in place, the
// running maximum and the drop-threshold window of each task's scores (see rank-window.ts).

import type { NanGuard, PcbInter } from "./options.js";
import type { RankWindow } from "./rank-window.js";
import { columnSums, type MagnitudeStats, pairwiseScores, scoreRow, storedRows } from "./score.js";

/**
 * B over one chunk of columns: `rows` hold T (one slice per task) and receive B; `max[i]` and
 * `wins[i]` take task i's scores. `colSum` is scratch of at least the chunk length.
 */
export function scoreChunk(
  rows: readonly Float32Array[],
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
  colSum: Float32Array,
  max: Float32Array,
  wins: readonly RankWindow[],
  offset = 0,
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
  // A separate loop over the chunk (still in cache): fusing it into scoreRow measured slower.
  for (let i = 0; i < n; i++) max[i] = wins[i].addWithMax(rows[i], max[i], offset);
}

/** Sampled columns for the drop-threshold windows: SAMPLE_BLOCKS evenly spaced blocks of SAMPLE_BLOCK columns. */
const SAMPLE_BLOCKS = 256;
const SAMPLE_BLOCK = 256;

/**
 * Balance scores of a sample of columns (all of them when there are few): blocks of contiguous
 * columns spread evenly over the store, T copied out through `read` (never scored in place), scored
 * with the same kernels as the pass. Returns one sample row per task.
 */
export function sampleScores(
  read: (task: number, offset: number, len: number, scratch: Float32Array) => Float32Array,
  n: number,
  total: number,
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
): Float32Array[] {
  const block = Math.min(SAMPLE_BLOCK, total);
  const blocks = total <= SAMPLE_BLOCKS * SAMPLE_BLOCK ? Math.ceil(total / block) : SAMPLE_BLOCKS;
  const starts = Array.from({ length: blocks }, (_, j) =>
    total <= SAMPLE_BLOCKS * SAMPLE_BLOCK ? j * block : Math.floor((j * (total - block)) / (blocks - 1)),
  );
  const lens = starts.map((s) => Math.min(block, total - s));
  const size = lens.reduce((a, b) => a + b, 0);
  const scratch = new Float32Array(block);
  const t = Array.from({ length: n }, (_, i) => {
    const row = new Float32Array(size);
    let at = 0;
    starts.forEach((s, j) => {
      row.set(read(i, s, lens[j], scratch), at);
      at += lens[j];
    });
    return row;
  });
  const out = Array.from({ length: n }, () => new Float32Array(size));
  const none = new Float32Array(0);
  if (inter === "pairwise") pairwiseScores(storedRows(t), mag, guard, out, none);
  else {
    const cs = columnSums(storedRows(t), mag, inter, guard, new Float32Array(size), none);
    for (let i = 0; i < n; i++) scoreRow(i, t[i], n, cs, mag, guard, out[i]);
  }
  return out;
}
