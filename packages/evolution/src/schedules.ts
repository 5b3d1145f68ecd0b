import type { Rng } from "@x/tensor-core";
import { EvolutionConfigError } from "./errors.js";

/** What a schedule may look at when producing the value for generation g (0-based). */
export interface ScheduleContext {
  /** Generation about to run, 0-based. */
  readonly generation: number;
  /** Number of individuals that improved in the previous generation (0 before the first). */
  readonly successes: number;
  /** The run's RNG; schedules that jitter draw from it in a fixed order. */
  readonly rng: Rng;
}

/**
 * A scalar parameter schedule (F or CR). `next` is called exactly once per generation, in generation
 * order, so stateful schedules (success gating) and jitter draws are reproducible. `state`/`restore`
 * round-trip through JSON for checkpoints.
 */
export interface Schedule {
  next(ctx: ScheduleContext): number;
  state(): unknown;
  restore(state: unknown): void;
}

abstract class Stateless implements Schedule {
  abstract next(ctx: ScheduleContext): number;
  state(): unknown {
    return null;
  }
  restore(_state: unknown): void {}
}

function finite(name: string, v: number): number {
  if (!Number.isFinite(v)) throw new EvolutionConfigError(`${name} must be finite, got ${v}`);
  return v;
}

class Constant extends Stateless {
  constructor(private readonly v: number) {
    super();
  }
  next(): number {
    return this.v;
  }
}

/** The same value every generation. */
export function constant(value: number): Schedule {
  return new Constant(finite("constant value", value));
}

class Linear extends Stateless {
  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly generations: number,
  ) {
    super();
  }
  next({ generation }: ScheduleContext): number {
    const t = this.generations <= 1 ? 1 : Math.min(1, generation / (this.generations - 1));
    return this.from + (this.to - this.from) * t;
  }
}

/** Linear from `from` at generation 0 to `to` at generation `generations - 1`, then constant. */
export function linear(from: number, to: number, generations: number): Schedule {
  if (!(generations >= 1)) throw new EvolutionConfigError(`linear schedule needs generations >= 1`);
  return new Linear(finite("from", from), finite("to", to), generations);
}

export interface CosineOptions {
  /** Value at phase 0 (CADE: F0). */
  readonly high: number;
  /** Floor (CADE: Fmin). */
  readonly low: number;
  /** Generations from high to low (CADE S2/S3: 40; S4: 5). */
  readonly halfPeriod: number;
  /** true: low + (high-low)(1+cos(pi e/T))/2 (S2, S3, S4). false: low + (high-low) cos(pi e/T)/2 (S5; can go below low). */
  readonly plusOne?: boolean;
}

/** Cosine of the generation index: low + (high - low)(1 + cos(pi g / T)) / 2 (periodic, no explicit restart). */
export function cosineValue(o: CosineOptions, e: number): number {
  const c = Math.cos((Math.PI * e) / o.halfPeriod);
  return o.plusOne === false ? o.low + ((o.high - o.low) * c) / 2 : o.low + ((o.high - o.low) * (1 + c)) / 2;
}

class Cosine extends Stateless {
  constructor(private readonly o: CosineOptions) {
    super();
  }
  next({ generation }: ScheduleContext): number {
    return cosineValue(this.o, generation);
  }
}

export function cosine(o: CosineOptions): Schedule {
  finite("high", o.high);
  finite("low", o.low);
  if (!(o.halfPeriod > 0))
    throw new EvolutionConfigError(`cosine halfPeriod must be > 0, got ${o.halfPeriod}`);
  return new Cosine(o);
}

class UniformJitter extends Stateless {
  constructor(
    private readonly a: number,
    private readonly b: number,
  ) {
    super();
  }
  next({ rng }: ScheduleContext): number {
    // numpy's uniform(low, high) = low + (high - low) u, also when low > high (CADE's F0 < Fmin case).
    return this.a + (this.b - this.a) * rng.uniform();
  }
}

/** U(a, b) drawn fresh every generation; a > b is allowed and means U(b, a) (numpy semantics). */
export function uniformJitter(a: number, b: number): Schedule {
  return new UniformJitter(finite("a", a), finite("b", b));
}

class Sum implements Schedule {
  constructor(private readonly parts: Schedule[]) {}
  next(ctx: ScheduleContext): number {
    let s = 0;
    for (const p of this.parts) s += p.next(ctx);
    return s;
  }
  state(): unknown {
    return this.parts.map((p) => p.state());
  }
  restore(state: unknown): void {
    const arr = state as unknown[];
    for (let i = 0; i < this.parts.length; i++) this.parts[i].restore(arr?.[i] ?? null);
  }
}

/** Pointwise sum of schedules, evaluated left to right (so random draws happen in that order). */
export function sum(...parts: Schedule[]): Schedule {
  return new Sum(parts);
}

class StartWith implements Schedule {
  constructor(
    private readonly first: number,
    private readonly then: Schedule,
  ) {}
  next(ctx: ScheduleContext): number {
    return ctx.generation === 0 ? this.first : this.then.next(ctx);
  }
  state(): unknown {
    return this.then.state();
  }
  restore(state: unknown): void {
    this.then.restore(state);
  }
}

/** `first` at generation 0, `then` afterwards (CADE runs its first generation at F0 / CR0). */
export function startWith(first: number, then: Schedule): Schedule {
  return new StartWith(finite("first", first), then);
}

class Clamp implements Schedule {
  constructor(
    private readonly inner: Schedule,
    private readonly lo: number,
    private readonly hi: number,
  ) {}
  next(ctx: ScheduleContext): number {
    return Math.min(this.hi, Math.max(this.lo, this.inner.next(ctx)));
  }
  state(): unknown {
    return this.inner.state();
  }
  restore(state: unknown): void {
    this.inner.restore(state);
  }
}

/** Clamp another schedule into [lo, hi] (e.g. CR into [0, 1]). */
export function clamp(inner: Schedule, lo: number, hi: number): Schedule {
  return new Clamp(inner, lo, hi);
}

/** CADE defaults: Fmin of the active strategy S3 and the half-period 40. */
export const CADE_FMIN = 1e-6;
export const CADE_HALF_PERIOD = 40;

/**
 * CADE strategy S2: pure cosine, Fmin = 1e-9, half-period 40, no jitter. Generation 0 uses v0; generation
 * g >= 1 uses the formula at e = g (CADE computes the value for generation e+1 after generation e, 1-based).
 */
export function cadeS2(v0: number, o: { low?: number; halfPeriod?: number } = {}): Schedule {
  return startWith(
    v0,
    cosine({ high: v0, low: o.low ?? 1e-9, halfPeriod: o.halfPeriod ?? CADE_HALF_PERIOD }),
  );
}

/**
 * CADE strategy S3 (the active one): low + (v0 - low)(1 + cos(pi e / 40))/2 + U(low, v0), low = 1e-6.
 * With CADE's active v0 = 1e-9 < low, the curve rises to 1e-6 at e = 40 and the jitter dominates.
 */
export function cadeS3(v0: number, o: { low?: number; halfPeriod?: number } = {}): Schedule {
  const low = o.low ?? CADE_FMIN;
  return startWith(
    v0,
    sum(cosine({ high: v0, low, halfPeriod: o.halfPeriod ?? CADE_HALF_PERIOD }), uniformJitter(low, v0)),
  );
}

/** CADE strategy S5: low + (v0 - low) cos(pi e / 5) / 2 (no "+1": it goes below low, even negative). */
export function cadeS5(v0: number, o: { low?: number; halfPeriod?: number } = {}): Schedule {
  return startWith(
    v0,
    cosine({ high: v0, low: o.low ?? CADE_FMIN, halfPeriod: o.halfPeriod ?? 5, plusOne: false }),
  );
}

interface GatedState {
  value: number;
  counter: number;
}

class SuccessGated implements Schedule {
  private value: number;
  private counter = 0;
  constructor(
    private readonly v0: number,
    private readonly low: number,
    private readonly halfPeriod: number,
  ) {
    this.value = v0;
  }
  next(ctx: ScheduleContext): number {
    if (ctx.generation === 0) {
      this.value = this.v0;
      this.counter = 0;
      return this.value;
    }
    if (ctx.successes > 1) {
      // More than one individual improved: hold the value, remember how long we held it.
      this.counter++;
    } else {
      const e = ctx.generation - this.counter;
      this.value =
        cosineValue({ high: this.v0, low: this.low, halfPeriod: this.halfPeriod }, e) +
        (this.low + (this.v0 - this.low) * ctx.rng.uniform());
      this.counter = 0;
    }
    return this.value;
  }
  state(): GatedState {
    return { value: this.value, counter: this.counter };
  }
  restore(state: unknown): void {
    const s = state as GatedState;
    this.value = s.value;
    this.counter = s.counter;
  }
}

/**
 * CADE strategy S4, success-gated: if more than one individual improved in the last generation, hold the
 * value and count the hold; otherwise cosine (half-period 5) at e - counter plus U(low, v0), low = 1e-9,
 * and reset the counter.
 */
export function cadeS4(v0: number, o: { low?: number; halfPeriod?: number } = {}): Schedule {
  return new SuccessGated(finite("v0", v0), o.low ?? 1e-9, o.halfPeriod ?? 5);
}
