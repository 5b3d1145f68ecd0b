import { Rng, type RngState } from "@x/tensor-core";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { EvolutionConfigError } from "./errors.js";
import type { EvalInfo } from "./fitness.js";
import type { RunSnapshot, RunStore } from "./run-store.js";

export interface Bounds {
  readonly lower: ArrayLike<number>;
  readonly upper: ArrayLike<number>;
}

export interface CmaEsOptions {
  /** Initial mean. */
  readonly x0: ArrayLike<number>;
  /** Initial step size (a quarter to a third of the search range is a good start). */
  readonly sigma0: number;
  readonly seed: number | string;
  /** Population size λ; default 4 + floor(3 ln n). */
  readonly lambda?: number;
  /** Box bounds; candidates outside are reflected back into the box (see `reflectIntoBox`). */
  readonly bounds?: Bounds;
}

/**
 * Bring a coordinate into [lo, hi] by mirror reflection at the bounds (repeated, so any value maps into
 * the box). The reflected point replaces the sample in the update ("Lamarckian" repair): CMA-ES learns
 * from the points it actually evaluated. Reflection keeps the density continuous inside the box, unlike
 * projection, which piles mass on the faces.
 */
export function reflectIntoBox(x: number, lo: number, hi: number): number {
  if (x >= lo && x <= hi) return x;
  const w = hi - lo;
  if (w <= 0) return lo;
  let t = (x - lo) % (2 * w);
  if (t < 0) t += 2 * w;
  return t <= w ? lo + t : hi - (t - w);
}

/**
 * (μ/μ_w, λ)-CMA-ES with full covariance, as in Hansen's tutorial (arXiv 1604.00772): log-decreasing
 * positive recombination weights, cumulative step-size adaptation, rank-one + rank-μ covariance update
 * with the h_σ stall. Minimizes. Ask/tell interface; all randomness from a seeded xoshiro stream.
 */
export class CmaEs {
  readonly n: number;
  readonly lambda: number;
  readonly mu: number;
  readonly weights: Float64Array;
  readonly muEff: number;
  readonly cSigma: number;
  readonly dSigma: number;
  readonly cc: number;
  readonly c1: number;
  readonly cMu: number;
  readonly chiN: number;
  private readonly bounds?: Bounds;
  private rng: Rng;
  readonly sigma0: number;

  mean: Float64Array;
  sigma: number;
  private C: Float64Array;
  private B: Float64Array;
  private D: Float64Array;
  private pSigma: Float64Array;
  private pc: Float64Array;
  generation = 0;
  evaluations = 0;
  bestX: Float64Array;
  bestF = Number.POSITIVE_INFINITY;
  private readonly bestHistory: number[] = [];
  private lastRange = Number.POSITIVE_INFINITY;

  constructor(o: CmaEsOptions) {
    const n = o.x0.length;
    if (n < 1) throw new EvolutionConfigError("CMA-ES needs at least one dimension");
    if (!(o.sigma0 > 0)) throw new EvolutionConfigError(`sigma0 must be > 0, got ${o.sigma0}`);
    this.n = n;
    this.lambda = o.lambda ?? 4 + Math.floor(3 * Math.log(n));
    if (!(Number.isInteger(this.lambda) && this.lambda >= 2)) {
      throw new EvolutionConfigError(`lambda must be an integer >= 2, got ${this.lambda}`);
    }
    this.mu = Math.floor(this.lambda / 2);
    const w = new Float64Array(this.mu);
    let sw = 0;
    for (let i = 0; i < this.mu; i++) {
      w[i] = Math.log((this.lambda + 1) / 2) - Math.log(i + 1);
      sw += w[i];
    }
    let sw2 = 0;
    for (let i = 0; i < this.mu; i++) {
      w[i] /= sw;
      sw2 += w[i] * w[i];
    }
    this.weights = w;
    this.muEff = 1 / sw2;
    const me = this.muEff;
    this.cSigma = (me + 2) / (n + me + 5);
    this.dSigma = 1 + 2 * Math.max(0, Math.sqrt((me - 1) / (n + 1)) - 1) + this.cSigma;
    this.cc = (4 + me / n) / (n + 4 + (2 * me) / n);
    this.c1 = 2 / ((n + 1.3) ** 2 + me);
    this.cMu = Math.min(1 - this.c1, (2 * (me - 2 + 1 / me)) / ((n + 2) ** 2 + me));
    this.chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
    if (o.bounds) {
      if (o.bounds.lower.length !== n || o.bounds.upper.length !== n) {
        throw new EvolutionConfigError(`bounds must have length ${n}`);
      }
      for (let i = 0; i < n; i++) {
        if (!(o.bounds.lower[i] <= o.bounds.upper[i])) {
          throw new EvolutionConfigError(
            `bound ${i}: lower ${o.bounds.lower[i]} > upper ${o.bounds.upper[i]}`,
          );
        }
      }
    }
    this.bounds = o.bounds;
    this.rng = new Rng(o.seed);
    this.sigma0 = o.sigma0;
    this.mean = Float64Array.from(o.x0);
    if (this.bounds)
      for (let i = 0; i < n; i++)
        this.mean[i] = reflectIntoBox(this.mean[i], this.bounds.lower[i], this.bounds.upper[i]);
    this.sigma = o.sigma0;
    this.C = new Float64Array(n * n);
    this.B = new Float64Array(n * n);
    this.D = new Float64Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      this.C[i * n + i] = 1;
      this.B[i * n + i] = 1;
    }
    this.pSigma = new Float64Array(n);
    this.pc = new Float64Array(n);
    this.bestX = Float64Array.from(this.mean);
  }

  /** λ new candidates x = m + σ B D z (reflected into the bounds when given). */
  ask(): Float64Array[] {
    const { n, B, D } = this;
    const z = new Float64Array(n);
    const out: Float64Array[] = [];
    for (let k = 0; k < this.lambda; k++) {
      for (let i = 0; i < n; i++) z[i] = this.rng.normal() * D[i];
      const x = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += B[i * n + j] * z[j];
        x[i] = this.mean[i] + this.sigma * s;
        if (this.bounds) x[i] = reflectIntoBox(x[i], this.bounds.lower[i], this.bounds.upper[i]);
      }
      out.push(x);
    }
    return out;
  }

  /** Update from the evaluated candidates (lower fitness is better). */
  tell(candidates: readonly Float64Array[], fitness: readonly number[]): void {
    const { n, mu, weights: w } = this;
    if (candidates.length !== this.lambda || fitness.length !== this.lambda) {
      throw new EvolutionConfigError(`tell expects ${this.lambda} candidates and fitness values`);
    }
    const order = Array.from({ length: this.lambda }, (_, i) => i).sort((a, b) => {
      const fa = Number.isNaN(fitness[a]) ? Number.POSITIVE_INFINITY : fitness[a];
      const fb = Number.isNaN(fitness[b]) ? Number.POSITIVE_INFINITY : fitness[b];
      return fa - fb || a - b;
    });
    this.evaluations += this.lambda;
    this.generation++;
    if (fitness[order[0]] < this.bestF) {
      this.bestF = fitness[order[0]];
      this.bestX = Float64Array.from(candidates[order[0]]);
    }
    this.bestHistory.push(fitness[order[0]]);
    this.lastRange = fitness[order[this.lambda - 1]] - fitness[order[0]];

    // y_i = (x_i - m) / σ for the μ best; y_w their weighted mean.
    const ys: Float64Array[] = [];
    const yw = new Float64Array(n);
    for (let k = 0; k < mu; k++) {
      const x = candidates[order[k]];
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = (x[i] - this.mean[i]) / this.sigma;
        yw[i] += w[k] * y[i];
      }
      ys.push(y);
    }
    for (let i = 0; i < n; i++) this.mean[i] += this.sigma * yw[i];

    // C^{-1/2} y_w = B D^{-1} B^T y_w
    const { B, D } = this;
    const t = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += B[i * n + j] * yw[i];
      t[j] = s / D[j];
    }
    const cs = this.cSigma;
    const csn = Math.sqrt(cs * (2 - cs) * this.muEff);
    let psNorm2 = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[i * n + j] * t[j];
      this.pSigma[i] = (1 - cs) * this.pSigma[i] + csn * s;
      psNorm2 += this.pSigma[i] * this.pSigma[i];
    }
    const psNorm = Math.sqrt(psNorm2);
    const hSigma =
      psNorm / Math.sqrt(1 - (1 - cs) ** (2 * this.generation)) < (1.4 + 2 / (n + 1)) * this.chiN ? 1 : 0;
    const ccn = Math.sqrt(this.cc * (2 - this.cc) * this.muEff);
    for (let i = 0; i < n; i++) this.pc[i] = (1 - this.cc) * this.pc[i] + hSigma * ccn * yw[i];

    const { c1, cMu } = this;
    const deltaH = (1 - hSigma) * this.cc * (2 - this.cc);
    const C = this.C;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let k = 0; k < mu; k++) rankMu += w[k] * ys[k][i] * ys[k][j];
        const v =
          (1 - c1 - cMu) * C[i * n + j] +
          c1 * (this.pc[i] * this.pc[j] + deltaH * C[i * n + j]) +
          cMu * rankMu;
        C[i * n + j] = v;
        C[j * n + i] = v;
      }
    }
    this.sigma *= Math.exp((cs / this.dSigma) * (psNorm / this.chiN - 1));
    this.decompose();
  }

  // C = B diag(D²) Bᵀ by ml-matrix's symmetric eigensolver (Householder tridiagonalisation + QL): plain
  // JavaScript arithmetic in a fixed order, so the decomposition, and the run, are bit-reproducible.
  private decompose(): void {
    const n = this.n;
    const evd = new EigenvalueDecomposition(Matrix.from1DArray(n, n, this.C), { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    const vectors = evd.eigenvectorMatrix;
    for (let i = 0; i < n; i++) {
      this.D[i] = Math.sqrt(Math.max(values[i], 1e-300));
      for (let j = 0; j < n; j++) this.B[i * n + j] = vectors.get(i, j);
    }
  }

  /** Everything that evolves during a run (JSON-safe with exact doubles via `toExactJson`). */
  state(): CmaEsState {
    return {
      mean: Array.from(this.mean),
      sigma: this.sigma,
      C: Array.from(this.C),
      B: Array.from(this.B),
      D: Array.from(this.D),
      pSigma: Array.from(this.pSigma),
      pc: Array.from(this.pc),
      generation: this.generation,
      evaluations: this.evaluations,
      bestX: Array.from(this.bestX),
      bestF: this.bestF,
      bestHistory: [...this.bestHistory],
      lastRange: this.lastRange,
      rng: this.rng.state(),
    };
  }

  /** Continue from a saved `state()` (same constructor options); the run goes on bit-identically. */
  restore(s: CmaEsState): void {
    const n = this.n;
    if (s.mean.length !== n || s.C.length !== n * n) {
      throw new EvolutionConfigError(
        `CMA-ES state is for dimension ${s.mean.length}, this optimizer has ${n}`,
      );
    }
    this.mean = Float64Array.from(s.mean);
    this.sigma = s.sigma;
    this.C = Float64Array.from(s.C);
    this.B = Float64Array.from(s.B);
    this.D = Float64Array.from(s.D);
    this.pSigma = Float64Array.from(s.pSigma);
    this.pc = Float64Array.from(s.pc);
    this.generation = s.generation;
    this.evaluations = s.evaluations;
    this.bestX = Float64Array.from(s.bestX);
    this.bestF = s.bestF;
    this.bestHistory.length = 0;
    this.bestHistory.push(...s.bestHistory);
    this.lastRange = s.lastRange;
    this.rng = Rng.fromState(s.rng);
  }

  /** Condition number of C. */
  conditionNumber(): number {
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (const d of this.D) {
      lo = Math.min(lo, d * d);
      hi = Math.max(hi, d * d);
    }
    return hi / lo;
  }

  /** A stop reason (Hansen's tolFun, tolX, conditionCov, noEffectCoord), or null. */
  stopReason(o: { tolFun?: number; tolX?: number } = {}): string | null {
    const n = this.n;
    const tolFun = o.tolFun ?? 1e-12;
    const tolX = o.tolX ?? 1e-12 * this.sigma0;
    const window = 10 + Math.ceil((30 * n) / this.lambda);
    if (this.bestHistory.length >= window) {
      const recent = this.bestHistory.slice(-window);
      if (Math.max(...recent) - Math.min(...recent) < tolFun && this.lastRange < tolFun) return "tolFun";
    }
    let maxStd = 0;
    for (let i = 0; i < n; i++) maxStd = Math.max(maxStd, Math.abs(this.pc[i]), Math.sqrt(this.C[i * n + i]));
    if (this.sigma * maxStd < tolX) return "tolX";
    if (this.conditionNumber() > 1e14) return "conditionCov";
    for (let i = 0; i < n; i++) {
      if (this.mean[i] === this.mean[i] + 0.2 * this.sigma * Math.sqrt(this.C[i * n + i]))
        return "noEffectCoord";
    }
    if (!Number.isFinite(this.sigma) || this.sigma > 1e10 * this.sigma0) return "sigmaDiverged";
    return null;
  }

  /** RNG state (for logging or checkpointing the driver). */
  rngState(): RngState {
    return this.rng.state();
  }
}

/** The evolving state of a `CmaEs` (see `state()` / `restore()`). */
export interface CmaEsState {
  readonly mean: number[];
  readonly sigma: number;
  readonly C: number[];
  readonly B: number[];
  readonly D: number[];
  readonly pSigma: number[];
  readonly pc: number[];
  readonly generation: number;
  readonly evaluations: number;
  readonly bestX: number[];
  readonly bestF: number;
  readonly bestHistory: number[];
  readonly lastRange: number;
  readonly rng: RngState;
}

/** An objective for `minimizeCmaEs`: lower is better; `info` names the candidate (index, generation). */
export type Objective = (x: Float64Array, info: EvalInfo) => number | Promise<number>;

export interface MinimizeOptions extends Omit<CmaEsOptions, "lambda"> {
  /** Total function-evaluation budget across restarts (checked first, before any other stop). */
  readonly maxEvaluations: number;
  /** "none": one run; "ipop": restart with λ doubled; "bipop": alternate large (doubling) and small regimes. */
  readonly restarts?: "none" | "ipop" | "bipop";
  /** Initial λ (default 4 + floor(3 ln n)). */
  readonly lambda?: number;
  /** Stop once f <= target. */
  readonly target?: number;
  /** Candidates evaluated at once (the objective may be async, e.g. a worker pool or a queue). */
  readonly concurrency?: number;
  /**
   * Checkpoint store: written after every `checkpointEvery` generations (default 1); with `resume`, a run
   * killed at any moment continues from its last checkpoint and ends bit-identical to an uninterrupted run.
   * Every option that changes the result (budget and target included) must match on resume.
   */
  readonly store?: RunStore;
  readonly resume?: boolean;
  readonly checkpointEvery?: number;
}

export interface MinimizeResult {
  readonly x: Float64Array;
  readonly f: number;
  readonly evaluations: number;
  readonly restarts: number;
  /** Per run: λ, evaluations used, best f, stop reason. */
  readonly runs: readonly { lambda: number; evaluations: number; best: number; stop: string }[];
}

interface RunRecord {
  lambda: number;
  evaluations: number;
  best: number;
  stop: string;
}

/** Where the restart driver is; saved in checkpoints next to the active run's `CmaEsState`. */
interface DriverState {
  rng: RngState;
  /** Index of the next (or active) run. */
  run: number;
  used: number;
  /** Generations done over all runs (the `generation` an objective sees). */
  generation: number;
  bestX: number[];
  bestF: number;
  largeRestarts: number;
  largeBudget: number;
  smallBudget: number;
  runs: RunRecord[];
  /** The active run's construction, or null between runs. */
  current: { x0: number[]; sigma0: number; lambda: number; seed: number; regime: "large" | "small" } | null;
  es: CmaEsState | null;
  /** True once the driver has stopped (budget or target reached, restarts exhausted). */
  finished: boolean;
}

/**
 * Minimize with CMA-ES and optional IPOP / BIPOP restarts (Auger & Hansen 2005; Hansen 2009). Restarts
 * begin at a uniform point of the box when bounds are given, else at x0. Evaluation order within a
 * generation never affects the result (fitness values are stored by candidate index). With a `store`, the
 * run checkpoints after every generation and `resume` continues it exactly.
 */
export async function minimizeCmaEs(f: Objective, o: MinimizeOptions): Promise<MinimizeResult> {
  const n = o.x0.length;
  const defaultLambda = o.lambda ?? 4 + Math.floor(3 * Math.log(n));
  const mode = o.restarts ?? "none";
  const concurrency = Math.max(1, o.concurrency ?? 1);
  const every = Math.max(1, o.checkpointEvery ?? 1);
  const fingerprint = JSON.stringify({
    algorithm: "cmaes",
    n,
    x0: Array.from(o.x0),
    sigma0: o.sigma0,
    seed: o.seed,
    lambda: defaultLambda,
    restarts: mode,
    maxEvaluations: o.maxEvaluations,
    target: o.target ?? null,
    bounds: o.bounds ? { lower: Array.from(o.bounds.lower), upper: Array.from(o.bounds.upper) } : null,
  });
  let rng = new Rng(o.seed);
  let st: DriverState = {
    rng: rng.state(),
    run: 0,
    used: 0,
    generation: 0,
    bestX: Array.from(o.x0),
    bestF: Number.POSITIVE_INFINITY,
    largeRestarts: 0,
    largeBudget: 0,
    smallBudget: 0,
    runs: [],
    current: null,
    es: null,
    finished: false,
  };
  const loaded = o.resume && o.store ? await o.store.load(fingerprint, () => new Float32Array(0), 0) : null;
  if (loaded) {
    st = loaded.extra as DriverState;
    rng = Rng.fromState(st.rng);
  }
  const save = async (): Promise<void> => {
    if (!o.store) return;
    st.rng = rng.state();
    const snap: RunSnapshot = {
      fingerprint,
      generation: st.generation,
      evaluations: st.used,
      skipped: 0,
      fitness: [st.bestF],
      rng: st.rng,
      control: null,
      history: [],
      extra: st,
    };
    await o.store.save(snap, []);
  };

  while (!st.finished) {
    if (st.current === null) {
      if (st.used >= o.maxEvaluations || (st.run > 0 && mode === "none")) {
        st.finished = true;
        break;
      }
      let lambda = defaultLambda;
      let sigma0 = o.sigma0;
      let regime: "large" | "small" = "large";
      if (mode === "ipop") lambda = defaultLambda * 2 ** st.run;
      if (mode === "bipop" && st.run > 0) {
        // Small regime whenever it has spent less than the large one (Hansen 2009).
        if (st.smallBudget < st.largeBudget) {
          regime = "small";
          const u = rng.uniform();
          lambda = Math.max(2, Math.floor(defaultLambda * (0.5 * 2 ** st.largeRestarts) ** (u * u)));
          sigma0 = o.sigma0 * 2 * 10 ** (-2 * rng.uniform());
        } else {
          st.largeRestarts++;
          lambda = defaultLambda * 2 ** st.largeRestarts;
        }
      }
      const x0 =
        st.run === 0 || !o.bounds
          ? Array.from(o.x0)
          : Array.from({ length: n }, (_, i) => rng.uniformIn(o.bounds!.lower[i], o.bounds!.upper[i]));
      st.current = { x0, sigma0, lambda, seed: rng.nextU32(), regime };
      st.es = null;
    }
    const c = st.current;
    const es = new CmaEs({ x0: c.x0, sigma0: c.sigma0, seed: c.seed, lambda: c.lambda, bounds: o.bounds });
    if (st.es) es.restore(st.es);
    let stop = "budget";
    while (st.used + es.lambda <= o.maxEvaluations) {
      const xs = es.ask();
      const fs = new Array<number>(xs.length);
      const generation = st.generation;
      let next = 0;
      const lane = async (): Promise<void> => {
        for (;;) {
          const k = next++;
          if (k >= xs.length) return;
          fs[k] = await f(xs[k], { target: k, generation });
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, xs.length) }, lane));
      st.used += xs.length;
      st.generation++;
      es.tell(xs, fs);
      if (es.bestF < st.bestF) {
        st.bestF = es.bestF;
        st.bestX = Array.from(es.bestX);
      }
      if (o.target !== undefined && st.bestF <= o.target) {
        stop = "target";
        break;
      }
      const r = es.stopReason();
      if (r) {
        stop = r;
        break;
      }
      if ((es.generation % every === 0 || st.used + es.lambda > o.maxEvaluations) && o.store) {
        st.es = es.state();
        await save();
      }
    }
    st.runs.push({ lambda: es.lambda, evaluations: es.evaluations, best: es.bestF, stop });
    if (c.regime === "small") st.smallBudget += es.evaluations;
    else st.largeBudget += es.evaluations;
    st.current = null;
    st.es = null;
    st.run++;
    if (stop === "target" || stop === "budget") st.finished = true;
    await save();
  }
  return {
    x: Float64Array.from(st.bestX),
    f: st.bestF,
    evaluations: st.used,
    restarts: st.runs.length - 1,
    runs: st.runs,
  };
}
