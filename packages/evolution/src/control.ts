import type { Rng } from "@x/tensor-core";
import { EvolutionConfigError } from "./errors.js";
import type { Schedule } from "./schedules.js";

/** F and CR for one child. */
export interface Params {
  f: number;
  cr: number;
}

/**
 * Supplies F and CR to the DE engine. Call order per generation is fixed: begin(g) once, sample(i) for
 * each target in the engine's target order, report(i, ...) for each evaluated child, end(g) once.
 * Every random draw happens in one of these calls, so the RNG stream never depends on evaluation timing.
 */
export interface ParameterControl {
  begin(generation: number, rng: Rng): void;
  sample(target: number, rng: Rng): Params;
  /** `improvement` = |f(parent) - f(child)| when the child won, else 0. */
  report(target: number, params: Params, won: boolean, improvement: number): void;
  end(generation: number, rng: Rng): void;
  state(): unknown;
  restore(state: unknown): void;
}

/** Per-generation F and CR from two schedules (CADE style); F's schedule is evaluated before CR's. */
export class ScheduledControl implements ParameterControl {
  private current: Params = { f: Number.NaN, cr: Number.NaN };
  private successes = 0;
  private lastSuccesses = 0;
  constructor(
    private readonly f: Schedule,
    private readonly cr: Schedule,
  ) {}
  begin(generation: number, rng: Rng): void {
    const ctx = { generation, successes: this.lastSuccesses, rng };
    this.current = { f: this.f.next(ctx), cr: this.cr.next(ctx) };
    this.successes = 0;
  }
  sample(): Params {
    return this.current;
  }
  report(_t: number, _p: Params, won: boolean): void {
    if (won) this.successes++;
  }
  end(): void {
    this.lastSuccesses = this.successes;
  }
  state(): unknown {
    return {
      current: this.current,
      lastSuccesses: this.lastSuccesses,
      f: this.f.state(),
      cr: this.cr.state(),
    };
  }
  restore(state: unknown): void {
    const s = state as { current: Params; lastSuccesses: number; f: unknown; cr: unknown };
    this.current = s.current;
    this.lastSuccesses = s.lastSuccesses;
    this.f.restore(s.f);
    this.cr.restore(s.cr);
  }
}

export interface ShadeOptions {
  /** History size H (Tanabe & Fukunaga 2013 use H = N). */
  readonly memory?: number;
  /** Initial M_F and M_CR (0.5). */
  readonly initialF?: number;
  readonly initialCr?: number;
  /** Scale of the Cauchy draw for F and the normal draw for CR (0.1). */
  readonly scale?: number;
}

export interface ShadeState {
  mF: number[];
  mCr: number[];
  k: number;
}

/**
 * SHADE success-history adaptation: per child pick a memory cell r, CR ~ N(M_CR[r], 0.1) clipped to
 * [0, 1], F ~ Cauchy(M_F[r], 0.1) redrawn while <= 0 and capped at 1. At the end of a generation with
 * successes, cell k gets the improvement-weighted mean of successful CR and the weighted Lehmer mean
 * of successful F, then k advances cyclically.
 */
export class ShadeControl implements ParameterControl {
  private mF: number[];
  private mCr: number[];
  private k = 0;
  private readonly scale: number;
  private sF: number[] = [];
  private sCr: number[] = [];
  private w: number[] = [];

  constructor(o: ShadeOptions = {}) {
    const h = o.memory ?? 5;
    if (!(Number.isInteger(h) && h >= 1))
      throw new EvolutionConfigError(`SHADE memory must be >= 1, got ${h}`);
    this.mF = new Array(h).fill(o.initialF ?? 0.5);
    this.mCr = new Array(h).fill(o.initialCr ?? 0.5);
    this.scale = o.scale ?? 0.1;
  }
  begin(): void {
    this.sF = [];
    this.sCr = [];
    this.w = [];
  }
  sample(_t: number, rng: Rng): Params {
    const r = rng.int(this.mF.length);
    const cr = Math.min(1, Math.max(0, rng.normal(this.mCr[r], this.scale)));
    let f = 0;
    while (f <= 0) f = this.mF[r] + this.scale * Math.tan(Math.PI * (rng.uniform() - 0.5));
    return { f: Math.min(1, f), cr };
  }
  report(_t: number, p: Params, won: boolean, improvement: number): void {
    if (!won) return;
    this.sF.push(p.f);
    this.sCr.push(p.cr);
    this.w.push(improvement);
  }
  end(): void {
    if (this.sF.length === 0) return;
    let total = 0;
    for (const v of this.w) total += v;
    const n = this.sF.length;
    let cr = 0;
    let f2 = 0;
    let f1 = 0;
    for (let i = 0; i < n; i++) {
      // Equal weights if every improvement was 0 (accuracy plateaus make that common).
      const wi = total > 0 ? this.w[i] / total : 1 / n;
      cr += wi * this.sCr[i];
      f2 += wi * this.sF[i] * this.sF[i];
      f1 += wi * this.sF[i];
    }
    this.mCr[this.k] = cr;
    this.mF[this.k] = f1 > 0 ? f2 / f1 : this.mF[this.k];
    this.k = (this.k + 1) % this.mF.length;
  }
  /** Current memories (for tests and logging). */
  memories(): { f: readonly number[]; cr: readonly number[]; next: number } {
    return { f: this.mF, cr: this.mCr, next: this.k };
  }
  state(): ShadeState {
    return { mF: [...this.mF], mCr: [...this.mCr], k: this.k };
  }
  restore(state: unknown): void {
    const s = state as ShadeState;
    this.mF = [...s.mF];
    this.mCr = [...s.mCr];
    this.k = s.k;
  }
}
