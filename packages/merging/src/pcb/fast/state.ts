// The fast path's state as its passes see it (magnitude.ts, scores.ts, stats.ts, merge.ts, pass.ts), and
// its errors: the passes take this interface, not the FastPcb class, so that the class (which runs
// them) and the passes do not import each other.

import { FastGlobalUnsupported } from "../../method.js";
import type { ResolvedPcbOptions } from "../options.js";
import type { MagnitudeStats, ScoreStats } from "../score.js";
import type { KeptCandidates } from "./kept.js";
import type { FastFormat } from "./layout.js";
import type { Sample } from "./sample.js";
import type { Slab } from "./slab.js";

/** Inputs outside what the fast path reproduces exactly; the caller falls back to the general path. */
export class FastPcbUnsupported extends FastGlobalUnsupported {
  override name = "FastPcbUnsupported";
}

/** Non-finite input values: per input slot (0 = base) and tensor, how many. */
export class FastPcbNonFinite extends FastPcbUnsupported {
  override name = "FastPcbNonFinite";
  constructor(
    message: string,
    readonly found: readonly { readonly slot: number; readonly index: number; readonly count: number }[],
  ) {
    super(message);
  }
}

export interface FastPcbSpec {
  /** The merged tensors in flat (reference key) order. */
  readonly tensors: readonly { readonly name: string; readonly numel: number }[];
  readonly numTasks: number;
  /** Stored dtype of every input tensor. */
  readonly format: FastFormat;
  readonly options: ResolvedPcbOptions;
  readonly threads: number;
  /** Bytes the fast path may take (default: everything resident, if it fits 4 GiB per slab). */
  readonly memoryBudget?: number;
  /** Sampled positions for the windows (default 2^17). */
  readonly sampleSize?: number;
  /** Window half-width in standard deviations of the sample rank (default 6); tests shrink it to force misses. */
  readonly windowWidth?: number;
  /** Elements per merge step, i.e. per each of the two output buffers (default MERGE_RANGE_ELEMENTS). */
  readonly mergeRange?: number;
  /** Scales the room of window collections and candidate lists (default 1); tests shrink it to force overflows. */
  readonly roomScale?: number;
  /** Positions per resident slab at most (tests: several slabs on small models). */
  readonly slabElements?: number;
  /**
   * Positions per window: a model with more is streamed in windows (re-read by every pass). Default:
   * everything resident when `memoryBudget` holds it.
   */
  readonly windowElements?: number;
  /** Keep resident what `memoryBudget` holds and stream only the rest (see SlabLayoutOptions). */
  readonly residentFirst?: boolean;
}

export interface FastPcbHooks {
  /** How each statistic was found: first window, a widened one, or the exact sweep. */
  onPaths?(paths: { magnitude: string[]; threshold: string[] }): void;
}

/** What the passes read and call of a loaded fast path (implemented by FastPcb). */
export interface FastPcbState {
  readonly spec: FastPcbSpec;
  readonly hooks: FastPcbHooks;
  readonly total: number;
  /** Flat start of every tensor. */
  readonly starts: number[];
  readonly n: number;
  readonly slabs: Slab[];
  readonly sample: Sample;
  readonly mergeRange: number;
  reruns: number;
  scoreRanges: [number, number][][];
  mag?: MagnitudeStats;
  score?: ScoreStats;
  readonly kept: KeptCandidates;
  /** The tensors overlapping positions [a, b), with the overlap: [tensor, from, to). */
  parts(a: number, b: number): Generator<[number, number, number]>;
  /** Fills slab `slab`'s buffers with positions [a, b) of every input (ranged reads). */
  loadWindow(
    slab: Slab,
    a: number,
    b: number,
    onBytes?: (bytes: number, tensor: number) => void,
  ): Promise<void>;
  /** Calls `fn` for every window of every slab, loading streamed windows first. */
  forEachWindow(fn: (slab: Slab, a: number, b: number) => void | Promise<void>): Promise<void>;
  /** Per input slot and tensor, the count of non-finite values. */
  locateNonFinite(): Promise<{ slot: number; index: number; count: number }[]>;
}
