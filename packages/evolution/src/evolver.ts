import { Rng, type RngState } from "@x/tensor-core";
import { type CrossoverSpec, crossoverStream } from "./crossover.js";
import { EvolutionConfigError, FitnessError } from "./errors.js";
import { buildChild, interpolationTerms } from "./mutation.js";
import { Population } from "./population.js";
import { type GenerationRecord, meanOf, type ProgressListener } from "./progress.js";
import type { RunSnapshot, RunStore } from "./run-store.js";
import { InFlight, Leases } from "./speculation.js";

/** Scores a weight vector on the evolution (dev) split; higher is better; must be deterministic. */
export type DevScore = (weights: Float32Array) => number | Promise<number>;

/**
 * Merges the population into `out` (Evolver mode B). Injected so that @x/evolution does not depend on
 * @x/merging (whose coefficient search uses this package's CMA-ES). The genomes are views into the
 * population buffer: read them, never keep or modify them. A stochastic merge (DARE) must fix its mask
 * seed so equal populations give equal merges (docs/algorithms.md, "Evolver").
 */
export type MergeFunction = (genomes: readonly Float32Array[], out: Float32Array) => void | Promise<void>;

export interface EvolverOptions {
  /** "standalone" = mode A (`evolve`), "merge" = mode B (`evolve_with_merger`). */
  readonly mode: "standalone" | "merge";
  /** Mutation factor F (interpolation weight toward the reference). Spec defaults: 0.1 or 0.5. */
  readonly f?: number;
  /** Per-scalar binomial crossover rate CR (default 0.5). */
  readonly cr?: number;
  /** Iterations G (`max_iters`, default 15). */
  readonly generations?: number;
  readonly seed: number | string;
  readonly score: DevScore;
  /** Required in mode B. */
  readonly merge?: MergeFunction;
  /** Do not score children identical to their parent (possible when CR·D is tiny); default true. */
  readonly skipIdentical?: boolean;
  /** "auto" | "dense" | "sparse" binomial sampling (distribution-identical; see crossover.ts). */
  readonly sampling?: "auto" | "dense" | "sparse";
  readonly onProgress?: ProgressListener;
  /**
   * Called after every child evaluation (for dev-vs-evaluations curves). Observers may score held-out
   * data here for logging; nothing they return influences selection.
   */
  readonly onEvaluation?: (e: EvolverEvaluation) => void | Promise<void>;
  readonly store?: RunStore;
  readonly resume?: boolean;
  /**
   * Children evaluated at once (default 1: one at a time, as the algorithm is written). With k > 1 the next
   * k − 1 children are built and evaluated while earlier decisions are pending; a child whose inputs an
   * earlier acceptance changed (its reference individual; the best individual in mode A; any slot in mode B,
   * whose fitness merges the whole population) is rebuilt from the same random draws and evaluated again. The
   * run is bit-identical to k = 1 and faster when evaluations run in parallel (worker threads, a queue of
   * machines); thrown-away evaluations are counted in `discarded`. Holds up to 3k extra genomes in memory.
   */
  readonly lookahead?: number;
}

export interface EvolverEvaluation {
  readonly generation: number;
  readonly target: number;
  readonly reference: number;
  readonly evaluations: number;
  readonly childScore: number;
  readonly accepted: boolean;
  /** Mode A: best individual dev score after this step; mode B: merged dev score after this step. */
  readonly current: number;
  /** Mode B: the population (after the decision); mode A: the individual kept in slot `target`. */
  readonly population: Population;
}

export interface EvolverResult {
  readonly population: Population;
  /** Mode A: per-individual dev scores. Mode B: a single entry, the merged dev score. */
  readonly scores: Float64Array;
  /** Mode A: the individual with the best dev score. Mode B: Merge(final population). */
  readonly output: Float32Array;
  readonly outputScore: number;
  /** Mode A: index of the output individual; mode B: -1. */
  readonly outputIndex: number;
  readonly evaluations: number;
  readonly skipped: number;
  readonly accepted: number;
  readonly history: readonly GenerationRecord[];
  /** Speculative evaluations thrown away (lookahead > 1); never counted in `evaluations`. */
  readonly discarded: number;
}

/** Evolver's reference-choice probability p_g = 0.5 + 0.5 / (G - g) (mode A). */
export function referenceRandomProbability(g: number, generations: number): number {
  return 0.5 + 0.5 / (generations - g);
}

function check(v: number, what: string): number {
  if (typeof v !== "number" || Number.isNaN(v))
    throw new FitnessError(`${what} is not a number: ${String(v)}`);
  return v;
}

/**
 * Evolver (Du et al. 2024) as its released code behaves (docs/algorithms.md): interpolation mutation
 * m = x_i + F (x_r - x_i), per-scalar binomial crossover without j_rand, greedy strict ">" in-place
 * selection. Mode A picks the reference at random with probability p_g, else the best other individual,
 * targets in order, and outputs the best individual by dev score. Mode B picks a uniform reference,
 * visits targets in a random permutation, keeps a child only if the dev score of the merged population
 * strictly improves, and outputs the merge of the final population — which is also the best merged dev
 * score seen, so selection never touches test data (the reference code's `best_test_score` selection
 * is a test-set leak and is not reproduced).
 */
export async function evolve(initial: readonly Float32Array[], o: EvolverOptions): Promise<EvolverResult> {
  const f = o.f ?? 0.5;
  const cr = o.cr ?? 0.5;
  const G = o.generations ?? 15;
  const n = initial.length;
  if (n < 2) throw new EvolutionConfigError(`Evolver needs at least 2 individuals, got ${n}`);
  if (!(f >= 0 && f <= 1)) throw new EvolutionConfigError(`F must be in [0, 1], got ${f}`);
  if (!(cr >= 0 && cr <= 1)) throw new EvolutionConfigError(`CR must be in [0, 1], got ${cr}`);
  if (!(Number.isInteger(G) && G >= 0))
    throw new EvolutionConfigError(`generations must be an integer >= 0, got ${G}`);
  if (o.mode !== "standalone" && o.mode !== "merge")
    throw new EvolutionConfigError(`unknown Evolver mode ${o.mode}`);
  if (o.mode === "merge" && !o.merge)
    throw new EvolutionConfigError("Evolver mode B (merge) needs a merge function");
  const dim = initial[0].length;
  for (let i = 0; i < n; i++) {
    if (initial[i].length !== dim)
      throw new EvolutionConfigError(`genome ${i} has length ${initial[i].length}, expected ${dim}`);
  }
  const modeB = o.mode === "merge";
  const skipIdentical = o.skipIdentical ?? true;
  const lookahead = o.lookahead ?? 1;
  if (!(Number.isInteger(lookahead) && lookahead >= 1)) {
    throw new EvolutionConfigError(`lookahead must be an integer >= 1, got ${lookahead}`);
  }
  const crossover: CrossoverSpec = { kind: "binomial", forceJRand: false, sampling: o.sampling ?? "auto" };
  const pop = new Population(n, dim, { spare: lookahead === 1 ? 1 : 3 * lookahead });
  const merged = modeB ? new Float32Array(dim) : null;
  const fingerprint = JSON.stringify({
    algorithm: "evolver",
    mode: o.mode,
    f,
    cr,
    G,
    seed: o.seed,
    n,
    dim,
    skipIdentical,
    sampling: crossover.sampling,
  });

  let rng = new Rng(o.seed);
  let scores = new Float64Array(modeB ? 1 : n);
  let evaluations = 0;
  let skipped = 0;
  let acceptedTotal = 0;
  let start = 0;
  let history: GenerationRecord[] = [];
  const scoreMerged = async (): Promise<number> => {
    await o.merge!(pop.genomes(), merged!);
    return check(await o.score(merged!), "merged dev score");
  };
  const snap = o.resume && o.store ? await o.store.load(fingerprint, (i) => pop.genome(i), n) : null;
  if (snap) {
    rng = Rng.fromState(snap.rng as RngState);
    scores = Float64Array.from(snap.fitness);
    evaluations = snap.evaluations;
    skipped = snap.skipped;
    start = snap.generation;
    history = [...snap.history];
    acceptedTotal = (snap.extra as { accepted: number }).accepted;
  } else {
    for (let i = 0; i < n; i++) pop.genome(i).set(initial[i]);
    if (modeB) {
      scores[0] = await scoreMerged();
      evaluations = 1;
    } else {
      // the initial individuals are independent: with lookahead k, k of them are scored at once
      let nextInitial = 0;
      const lane = async (): Promise<void> => {
        for (let i = nextInitial++; i < n; i = nextInitial++) {
          scores[i] = check(await o.score(pop.genome(i)), `dev score of individual ${i}`);
        }
      };
      await Promise.all(Array.from({ length: Math.min(lookahead, n) }, lane));
      evaluations = n;
    }
  }
  const save = async (generation: number): Promise<void> => {
    if (!o.store) return;
    const s: RunSnapshot = {
      fingerprint,
      generation,
      evaluations,
      skipped,
      fitness: Array.from(scores),
      rng: rng.state(),
      control: null,
      history,
      extra: { accepted: acceptedTotal },
    };
    await o.store.save(s, pop.genomes());
  };
  if (!snap) await save(0);
  const bestOther = (i: number): number => {
    let b = -1;
    for (let k = 0; k < n; k++) if (k !== i && (b < 0 || scores[k] > scores[b])) b = k;
    return b;
  };
  const bestIndex = (): number => {
    let b = 0;
    for (let k = 1; k < n; k++) if (scores[k] > scores[b]) b = k;
    return b;
  };
  const uniformOther = (i: number): number => {
    const r = rng.int(n - 1);
    return r >= i ? r + 1 : r;
  };

  // ---- speculative evaluation (lookahead > 1) ----
  // Children are dispatched in target order, so the random draws happen in exactly the sequential order; a
  // child's draws never depend on earlier decisions, only its contents do. Each child remembers the RNG state
  // before its crossover draws and the versions of what it read; when an acceptance changes those, it is rebuilt
  // from the same draws and evaluated again. Decisions are taken in order with the values of valid children
  // only, so the run equals lookahead 1.
  interface Entry {
    readonly target: number;
    readonly kind: "random" | "best";
    ref: number;
    refVersion: number;
    globalVersion: number;
    readonly crossState: RngState;
    slot: number;
    out: number;
    changed: boolean;
    value: Promise<number> | null;
  }
  const inflight = new InFlight();
  const version = new Uint32Array(n); // acceptances per slot
  let globalVersion = 0;
  const slotLeases = new Leases(Array.from({ length: 3 * lookahead }, (_, k) => n + k));
  const outLeases = new Leases(Array.from({ length: 3 * lookahead }, (_, k) => k));
  const outBuffers: Float32Array[] = [];
  const outBuffer = (k: number): Float32Array => {
    let b = outBuffers[k];
    if (!b) {
      b = new Float32Array(dim);
      outBuffers[k] = b;
    }
    return b;
  };
  const startEvaluation = (e: Entry): void => {
    e.value = null;
    if (skipIdentical && !e.changed) return;
    const child = pop.genome(e.slot);
    let run: Promise<number>;
    if (modeB) {
      const list = pop.genomes();
      list[e.target] = child; // the population with u in slot i, as the sequential loop scores it
      const out = outBuffer(e.out);
      run = (async () => {
        await o.merge!(list, out);
        return check(await o.score(out), "merged dev score");
      })();
    } else {
      run = (async () => check(await o.score(child), `dev score of the child for individual ${e.target}`))();
    }
    run.catch(() => {}); // a thrown-away evaluation may fail unobserved
    e.value = inflight.track(run);
  };
  const build = (e: Entry, r: Rng): void => {
    const x = pop.genome(e.target);
    const stats = buildChild(
      pop.genome(e.slot),
      x,
      interpolationTerms(x, pop.genome(e.ref), f),
      crossoverStream(crossover, r, dim, cr),
    );
    e.changed = stats.changed;
    e.refVersion = version[e.ref];
    e.globalVersion = globalVersion;
    startEvaluation(e);
  };
  const valid = (e: Entry): boolean =>
    modeB
      ? e.globalVersion === globalVersion
      : version[e.ref] === e.refVersion && (e.kind === "random" || bestOther(e.target) === e.ref);
  const dispatch = async (t: number, p: number): Promise<Entry> => {
    const slot = await slotLeases.take();
    const out = modeB ? await outLeases.take() : -1;
    let kind: "random" | "best" = "random";
    let ref: number;
    if (modeB || rng.uniform() < p) ref = uniformOther(t);
    else {
      kind = "best";
      ref = bestOther(t);
    }
    const e: Entry = {
      target: t,
      kind,
      ref,
      refVersion: 0,
      globalVersion: 0,
      crossState: rng.state(),
      slot,
      out,
      changed: false,
      value: null,
    };
    build(e, rng);
    return e;
  };
  const release = (e: Entry, slotReaders: Iterable<Promise<unknown>>): void => {
    slotLeases.release(e.slot, slotReaders);
    if (e.out >= 0) outLeases.release(e.out, e.value ? [e.value] : []);
  };
  const rebuild = async (e: Entry): Promise<void> => {
    if (e.value) inflight.discarded++;
    release(e, e.value ? [e.value] : []);
    e.slot = await slotLeases.take();
    e.out = modeB ? await outLeases.take() : -1;
    if (e.kind === "best") e.ref = bestOther(e.target);
    build(e, Rng.fromState(e.crossState));
  };
  const speculativeGeneration = async (g: number, order: readonly number[], p: number): Promise<number> => {
    let accepted = 0;
    const window: Entry[] = [];
    let next = 0;
    const fill = async (): Promise<void> => {
      while (window.length < lookahead && next < order.length) window.push(await dispatch(order[next++], p));
    };
    await fill();
    while (window.length > 0) {
      const e = window[0];
      const i = e.target;
      if (!valid(e)) await rebuild(e);
      if (skipIdentical && !e.changed) {
        skipped++;
        release(e, []);
        window.shift();
        await fill();
        continue;
      }
      const childScore = await e.value!;
      const won = modeB ? childScore > scores[0] : childScore > scores[i];
      if (won) {
        pop.swap(i, e.slot); // u into slot i; the old x_i now sits in the spare slot
        if (modeB) scores[0] = childScore;
        else scores[i] = childScore;
        version[i]++;
        globalVersion++;
        accepted++;
        release(e, inflight.all); // evaluations in flight may still read the old x_i (mode B merges)
      } else release(e, [e.value!]);
      evaluations++;
      await o.onEvaluation?.({
        generation: g,
        target: i,
        reference: e.ref,
        evaluations,
        childScore,
        accepted: won,
        current: modeB ? scores[0] : scores[bestIndex()],
        population: pop,
      });
      window.shift();
      if (won) for (const w of window) if (!valid(w)) await rebuild(w);
      await fill();
    }
    return accepted;
  };

  for (let g = start; g < G; g++) {
    let accepted = 0;
    const order = modeB ? Array.from(rng.permutation(n)) : Array.from({ length: n }, (_, i) => i);
    const p = referenceRandomProbability(g, G);
    if (lookahead > 1) accepted = await speculativeGeneration(g, order, p);
    else {
      for (const i of order) {
        let r: number;
        if (modeB) r = uniformOther(i);
        else r = rng.uniform() < p ? uniformOther(i) : bestOther(i);
        const child = pop.genome(n);
        const stats = buildChild(
          child,
          pop.genome(i),
          interpolationTerms(pop.genome(i), pop.genome(r), f),
          crossoverStream(crossover, rng, dim, cr),
        );
        if (skipIdentical && !stats.changed) {
          skipped++;
          continue;
        }
        let childScore: number;
        let won: boolean;
        if (modeB) {
          pop.swap(i, n); // u goes into slot i
          childScore = await scoreMerged();
          won = childScore > scores[0];
          if (won) scores[0] = childScore;
          else pop.swap(i, n); // restore x_i
        } else {
          childScore = check(await o.score(child), `dev score of the child for individual ${i}`);
          won = childScore > scores[i];
          if (won) {
            pop.swap(i, n);
            scores[i] = childScore;
          }
        }
        evaluations++;
        if (won) accepted++;
        await o.onEvaluation?.({
          generation: g,
          target: i,
          reference: r,
          evaluations,
          childScore,
          accepted: won,
          current: modeB ? scores[0] : scores[bestIndex()],
          population: pop,
        });
      }
    }
    acceptedTotal += accepted;
    const rec: GenerationRecord = {
      generation: g,
      generations: G,
      evaluations,
      skipped,
      accepted,
      best: modeB ? scores[0] : scores[bestIndex()],
      mean: modeB ? scores[0] : meanOf(scores),
      f,
      cr,
    };
    history.push(rec);
    await save(g + 1);
    o.onProgress?.(rec);
  }
  await inflight.settle(); // no thrown-away evaluation outlives the call
  let output: Float32Array;
  let outputIndex = -1;
  let outputScore: number;
  if (modeB) {
    await o.merge!(pop.genomes(), merged!);
    output = merged!;
    outputScore = scores[0];
  } else {
    outputIndex = bestIndex();
    output = pop.genome(outputIndex);
    outputScore = scores[outputIndex];
  }
  return {
    population: pop,
    scores,
    output,
    outputScore,
    outputIndex,
    evaluations,
    skipped,
    accepted: acceptedTotal,
    history,
    discarded: inflight.discarded,
  };
}
