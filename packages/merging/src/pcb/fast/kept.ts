// The candidates of a streamed slab's last score pass, kept per window in ordinary memory (cheap to
// allocate, unlike shared WebAssembly memory) so that its merge does not recompute them. Bounded by the
// memory budget: windows beyond it, or whose lists overflowed their room, are recomputed at the merge.

import type { Slab } from "./slab.js";

export interface KeptWindow {
  /** The score pass's thread ranges of the window (the owners of the lists). */
  readonly ranges: readonly (readonly [number, number])[];
  /** Per thread, per task: candidate positions (ascending) and their exact scores. */
  readonly pos: readonly (readonly Uint32Array[])[];
  readonly val: readonly (readonly Float32Array[])[];
}

export class KeptCandidates {
  private readonly windows = new Map<string, KeptWindow>();
  private bytes = 0;

  constructor(
    /** Bytes the kept lists may take. */
    private readonly budget: number,
  ) {}

  clear(): void {
    this.windows.clear();
    this.bytes = 0;
  }

  /**
   * After window `w` of streamed slab `s` ran its score pass: copies every thread's candidate lists
   * out of the slab's memory (unless one overflowed its room `capOf(t, i)` or the budget is spent) and
   * empties them for the next window.
   */
  keepWindow(
    slab: Slab,
    s: number,
    w: number,
    ranges: readonly (readonly [number, number])[],
    capOf: (t: number, i: number) => number,
  ): void {
    let size = 0;
    let fits = true;
    slab.params.forEach((p, t) => {
      for (let i = 0; i < slab.n; i++) {
        const count = slab.getU32(p, "candCount", i);
        if (count > capOf(t, i)) fits = false;
        size += count * 8;
      }
    });
    if (fits && this.bytes + size <= this.budget) {
      const pos: Uint32Array[][] = [];
      const val: Float32Array[][] = [];
      slab.params.forEach((p, t) => {
        pos[t] = [];
        val[t] = [];
        for (let i = 0; i < slab.n; i++) {
          const count = slab.getU32(p, "candCount", i);
          pos[t]![i] = slab.arena.u32(slab.getU32(p, "candPos", i), count).slice();
          val[t]![i] = slab.arena.f32(slab.getU32(p, "candVal", i), count).slice();
        }
      });
      this.windows.set(`${s}:${w}`, { ranges: ranges.map(([a, b]) => [a, b] as const), pos, val });
      this.bytes += size;
    }
    for (const p of slab.params) for (let i = 0; i < slab.n; i++) slab.setU32(p, "candCount", 0, i);
  }

  /** Windows whose candidates are kept. */
  get size(): number {
    return this.windows.size;
  }

  get(s: number, w: number): KeptWindow | undefined {
    return this.windows.get(`${s}:${w}`);
  }
}
