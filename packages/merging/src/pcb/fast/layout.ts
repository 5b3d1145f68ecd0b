// Memory planning of the PCB fast path. Positions 0..D of the flattened model are cut into slabs,
// each with its own WebAssembly memory (at most 4 GiB each). A resident slab holds its inputs (base +
// models, as stored), candidates and window collections for the whole run: it is read once. A
// streamed slab holds a window of positions at a time and every pass reads its windows again (ranged
// reads, from the page cache once the first pass has read the files), so memory stays bounded
// whatever the model size. By default a model larger than one window is streamed: first touches of
// shared WebAssembly memory cost far more than re-reading cached files (docs/pcb-fast-path.md).

/** Stored formats the kernels read (and write). */
export type FastFormat = "BF16" | "F32" | "F16";

export const esize = (f: FastFormat): number => (f === "F32" ? 4 : 2);

/** Elements of one merge step (output buffer) by default. */
export const MERGE_RANGE_ELEMENTS = 1 << 22;
/** Largest WebAssembly memory a slab may take (wasm32: 4 GiB, less room for the allocator's rounding). */
export const MAX_ARENA_BYTES = 2 ** 32 - (64 << 20);
/** Fixed bytes of an arena: C stacks, tables, per-thread blocks, scratch and caches, rounding. */
const ARENA_SLACK = 64 << 20;
/** Smallest window of a streamed slab (positions). */
const MIN_WINDOW = 1 << 20;
/** Largest window of a streamed slab (positions): larger ones only add memory. */
const MAX_WINDOW = 1 << 25;
/** Positions per window by default (`fast_window`): the model is streamed when it has more. */
export const DEFAULT_WINDOW = 1 << 23;

/** Candidate bytes per position and task: 8 bytes each, room for 1.35 × the kept share. */
const candidateShare = (ratio: number) => Math.min(1, ratio * 1.35 + 0.01);

/** Bytes per position of a resident slab: inputs, candidate lists, window collections (≈ 3 % of the task elements at 4 bytes, room 1.5×). */
export function residentBytesPerPosition(numTasks: number, format: FastFormat, ratio: number): number {
  return (numTasks + 1) * esize(format) + numTasks * 8 * candidateShare(ratio) + numTasks * 0.2;
}

/** Bytes per position of a streamed slab's window: inputs and the merge step's candidates. */
function windowBytesPerPosition(numTasks: number, format: FastFormat, ratio: number): number {
  return (numTasks + 1) * esize(format) + numTasks * 8 * candidateShare(ratio);
}

/** Fixed bytes of one arena: two float32 output buffers of a merge step, and slack. */
export function arenaOverhead(mergeRange: number): number {
  return 2 * (mergeRange + 8) * 4 + ARENA_SLACK;
}

/**
 * Estimated bytes of the fast path with every position resident (inputs, candidates, collections,
 * output buffers): what `memory_budget` must allow for the model to be read only once.
 */
export function fastPcbBytes(
  total: number,
  numTasks: number,
  format: FastFormat,
  ratio: number,
  largest = 0,
  mergeRange = MERGE_RANGE_ELEMENTS,
): number {
  const range = Math.max(mergeRange, Math.min(largest, MAX_WINDOW));
  const perArena = Math.floor(
    (MAX_ARENA_BYTES - arenaOverhead(range)) / residentBytesPerPosition(numTasks, format, ratio),
  );
  const arenas = Math.max(1, Math.ceil(total / Math.max(4, perArena)));
  return Math.ceil(total * residentBytesPerPosition(numTasks, format, ratio)) + arenas * arenaOverhead(range);
}

/** The least `memory_budget` the fast path runs with (a streamed slab with the smallest window). */
export function minimumFastPcbBytes(
  numTasks: number,
  format: FastFormat,
  ratio: number,
  mergeRange = MERGE_RANGE_ELEMENTS,
): number {
  const window = Math.max(MIN_WINDOW, mergeRange);
  return Math.ceil(window * windowBytesPerPosition(numTasks, format, ratio)) + arenaOverhead(mergeRange);
}

export interface SlabPlan {
  /** Positions [p0, p1) of the flattened model. */
  readonly p0: number;
  readonly p1: number;
  /** Positions held in memory at once: p1 − p0 when resident. */
  readonly window: number;
  readonly resident: boolean;
  /** Bytes its arena is expected to take. */
  readonly bytes: number;
}

export interface SlabLayoutOptions {
  readonly numTasks: number;
  readonly format: FastFormat;
  readonly ratio: number;
  readonly budget: number;
  readonly mergeRange: number;
  /** Positions per resident slab at most (tests: many small slabs). */
  readonly slabElements?: number;
  /**
   * Positions per window of a streamed slab: a model with more positions is streamed in windows of
   * at most this many (fewer when the budget says so); undefined or 0: keep everything resident when
   * the budget holds it.
   */
  readonly windowElements?: number;
  /**
   * Keep resident as much as `budget` holds and stream only the rest (windows of `windowElements`,
   * else half the budget's worth) instead of streaming every model larger than one window.
   */
  readonly residentFirst?: boolean;
}

const down4 = (x: number) => Math.floor(x / 4) * 4;

/**
 * Cuts the model's tensors (element counts, in flat order) into slabs: resident ones packed at tensor
 * boundaries (a tensor larger than a slab is cut), then, when the budget does not hold everything,
 * one streamed slab for the rest. Undefined when the budget is below `minimumFastPcbBytes`.
 */
export function planSlabs(sizes: readonly number[], o: SlabLayoutOptions): SlabPlan[] | undefined {
  const total = sizes.reduce((a, b) => a + b, 0);
  const perPos = residentBytesPerPosition(o.numTasks, o.format, o.ratio);
  const overhead = arenaOverhead(o.mergeRange);
  const cap = Math.max(
    4,
    down4(Math.min(o.slabElements ?? Number.POSITIVE_INFINITY, (MAX_ARENA_BYTES - overhead) / perPos)),
  );
  const everything = fastPcbBytes(total, o.numTasks, o.format, o.ratio, 0, o.mergeRange);
  const winPerPos = windowBytesPerPosition(o.numTasks, o.format, o.ratio);
  const preferred = o.windowElements ?? 0;
  let residentBudget = o.budget;
  let window = 0;
  if (!o.residentFirst && preferred > 0 && total > preferred) {
    // Streamed in windows of the preferred size, or of what the budget holds.
    window = down4(Math.min(preferred, MAX_WINDOW, Math.max(MIN_WINDOW, (o.budget - overhead) / winPerPos)));
    residentBudget = 0;
  } else if (everything > o.budget || (o.residentFirst && preferred > 0)) {
    // What the budget holds resident (after the streamed window: `windowElements`, else half the
    // budget's worth, enough to amortise each read), the rest streamed.
    window =
      preferred > 0
        ? preferred
        : down4(
            Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, o.mergeRange, (o.budget / 2 - overhead) / winPerPos)),
          );
    residentBudget = o.budget - (Math.ceil(window * winPerPos) + overhead);
  }
  const slabs: SlabPlan[] = [];
  const allResident = window === 0;
  // Resident slabs, at tensor boundaries: all of them, or while the budget lasts.
  let pos = 0;
  let t = 0;
  let inTensor = 0; // elements of tensor t already placed
  let left = residentBudget;
  while (t < sizes.length && (allResident || left > overhead + perPos * 4)) {
    const room = allResident ? cap : Math.min(cap, down4((left - overhead) / perPos));
    const p0 = pos;
    let len = 0;
    while (t < sizes.length) {
      const rest = sizes[t]! - inTensor;
      if (len + rest <= room) {
        len += rest;
        t++;
        inTensor = 0;
        continue;
      }
      // A tensor that does not fit: cut it only when it would not fit an empty slab either.
      if (len === 0 || sizes[t]! > cap) {
        const take = down4(room - len);
        if (take > 0) {
          len += take;
          inTensor += take;
        }
      }
      break;
    }
    if (len === 0) break;
    pos = p0 + len;
    const bytes = Math.ceil(len * perPos) + overhead;
    slabs.push({ p0, p1: pos, window: len, resident: true, bytes });
    left -= bytes;
  }
  if (pos < total) {
    const w = Math.min(window, total - pos);
    const bytes = Math.ceil(w * windowBytesPerPosition(o.numTasks, o.format, o.ratio)) + overhead;
    slabs.push({ p0: pos, p1: total, window: w, resident: false, bytes });
  }
  return slabs;
}
