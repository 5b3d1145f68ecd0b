import type { Rng } from "@x/tensor-core";
import { EvolutionConfigError } from "./errors.js";

/**
 * Crossover decides which coordinates of a child come from the mutant (the rest stay the parent's).
 * The chosen coordinates are produced as a stream of positions, block by block into a fixed scratch
 * array, so the cost is O(k) for k crossed coordinates in sparse mode and memory stays bounded.
 */
export type CrossoverSpec =
  | {
      readonly kind: "binomial";
      /** Force one uniformly drawn coordinate j_rand to cross (textbook DE). CADE and Evolver: false. */
      readonly forceJRand?: boolean;
      /**
       * "dense": one uniform per coordinate; "sparse": geometric skips between crossed coordinates
       * (O(k), same distribution); "auto": sparse when CR <= 0.25. The choice changes which random
       * numbers are consumed, never the distribution; it is fixed by the config, so runs stay reproducible.
       */
      readonly sampling?: "auto" | "dense" | "sparse";
    }
  | { readonly kind: "exponential" };

/** Threshold below which "auto" binomial sampling uses geometric skips. */
export const SPARSE_CR_THRESHOLD = 0.25;

/** A stream of ascending (binomial) or wrapping contiguous (exponential) crossed positions. */
export interface PositionStream {
  /** Fill `out` with up to out.length positions; returns how many were written, 0 when exhausted. */
  next(out: Uint32Array): number;
}

export function validateCrossover(spec: CrossoverSpec): void {
  if (spec.kind !== "binomial" && spec.kind !== "exponential") {
    throw new EvolutionConfigError(`unknown crossover kind ${(spec as { kind: string }).kind}`);
  }
  if (spec.kind === "binomial" && spec.sampling && !["auto", "dense", "sparse"].includes(spec.sampling)) {
    throw new EvolutionConfigError(`unknown binomial sampling ${spec.sampling}`);
  }
}

function checkCr(cr: number): void {
  if (!(cr >= 0 && cr <= 1)) throw new EvolutionConfigError(`CR must be in [0, 1], got ${cr}`);
}

/** Per-coordinate Bernoulli(cr) draws: one uniform per coordinate, in coordinate order. */
export class DenseBinomialStream implements PositionStream {
  private d = 0;
  constructor(
    private readonly rng: Rng,
    private readonly dim: number,
    private readonly cr: number,
  ) {
    checkCr(cr);
  }
  next(out: Uint32Array): number {
    const { rng, dim, cr } = this;
    let n = 0;
    let d = this.d;
    while (d < dim && n < out.length) {
      if (rng.uniform() < cr) out[n++] = d;
      d++;
    }
    this.d = d;
    return n;
  }
}

/**
 * Geometric skips: the gap before the next crossed coordinate is Geometric(cr) on {0,1,...}, drawn by
 * inversion floor(ln U / ln(1-cr)). The set of crossed coordinates has exactly the law of independent
 * Bernoulli(cr) draws, at one uniform per crossed coordinate instead of one per coordinate.
 */
export class GeometricBinomialStream implements PositionStream {
  private pos: number;
  private readonly logQ: number;
  constructor(
    private readonly rng: Rng,
    private readonly dim: number,
    private readonly cr: number,
  ) {
    checkCr(cr);
    this.logQ = Math.log1p(-cr);
    this.pos = this.advance(0);
  }
  private advance(from: number): number {
    if (this.cr <= 0) return this.dim;
    if (this.cr >= 1) return from;
    const u = 1 - this.rng.uniform(); // (0, 1]
    const gap = Math.floor(Math.log(u) / this.logQ);
    // gap can be astronomically large (or Infinity) when cr is tiny: clamp before adding.
    return gap >= this.dim - from ? this.dim : from + gap;
  }
  next(out: Uint32Array): number {
    let n = 0;
    while (this.pos < this.dim && n < out.length) {
      out[n++] = this.pos;
      this.pos = this.advance(this.pos + 1);
    }
    return n;
  }
}

/** Adds a forced coordinate j to an ascending stream, keeping the output ascending and duplicate-free. */
export class ForcedCoordinateStream implements PositionStream {
  private pending = true;
  private buf = new Uint32Array(0);
  private bufN = 0;
  private bufI = 0;
  constructor(
    private readonly inner: PositionStream,
    private readonly j: number,
  ) {}
  next(out: Uint32Array): number {
    if (this.buf.length !== out.length) {
      if (this.bufI < this.bufN) {
        // keep unread items when the caller changes block size
        const rest = this.buf.slice(this.bufI, this.bufN);
        this.buf = new Uint32Array(Math.max(out.length, rest.length));
        this.buf.set(rest);
        this.bufN = rest.length;
      } else {
        this.buf = new Uint32Array(out.length);
        this.bufN = 0;
      }
      this.bufI = 0;
    }
    let n = 0;
    while (n < out.length) {
      if (this.bufI >= this.bufN) {
        this.bufN = this.inner.next(this.buf);
        this.bufI = 0;
        if (this.bufN === 0) break;
      }
      const p = this.buf[this.bufI];
      if (this.pending && this.j <= p) {
        out[n++] = this.j;
        this.pending = false;
        if (p === this.j) this.bufI++;
        continue;
      }
      out[n++] = p;
      this.bufI++;
    }
    if (n < out.length && this.pending) {
      out[n++] = this.j;
      this.pending = false;
    }
    return n;
  }
}

/**
 * Exponential crossover (Storn & Price): start at a uniform coordinate n, copy L consecutive
 * coordinates (wrapping), where L = 1 + number of consecutive successes of Bernoulli(cr), L <= D.
 */
export class ExponentialStream implements PositionStream {
  private readonly start: number;
  private readonly length: number;
  private emitted = 0;
  constructor(
    rng: Rng,
    private readonly dim: number,
    cr: number,
  ) {
    checkCr(cr);
    this.start = rng.int(dim);
    let len = 1;
    while (len < dim && rng.uniform() < cr) len++;
    this.length = len;
  }
  next(out: Uint32Array): number {
    let n = 0;
    while (this.emitted < this.length && n < out.length) {
      let p = this.start + this.emitted++;
      if (p >= this.dim) p -= this.dim;
      out[n++] = p;
    }
    return n;
  }
}

/** The crossed-position stream for one child; draws j_rand (if any) before the coordinate draws. */
export function crossoverStream(spec: CrossoverSpec, rng: Rng, dim: number, cr: number): PositionStream {
  if (spec.kind === "exponential") return new ExponentialStream(rng, dim, cr);
  const j = spec.forceJRand ? rng.int(dim) : -1;
  const sampling = spec.sampling ?? "auto";
  const sparse = sampling === "sparse" || (sampling === "auto" && cr <= SPARSE_CR_THRESHOLD);
  const inner = sparse ? new GeometricBinomialStream(rng, dim, cr) : new DenseBinomialStream(rng, dim, cr);
  return j >= 0 ? new ForcedCoordinateStream(inner, j) : inner;
}
