import { Rng, type RngState } from "@x/tensor-core";
import type { ParameterControl, Params } from "./control.js";
import { type CrossoverSpec, crossoverStream, validateCrossover } from "./crossover.js";
import { asyncGenerationWithLookahead, lookaheadState } from "./de-lookahead.js";
import { EvolutionConfigError } from "./errors.js";
import { evaluateAll, type FitnessFunction } from "./fitness.js";
import { buildChild, randomsNeeded, type Strategy, strategyTerms } from "./mutation.js";
import { Population } from "./population.js";
import { type GenerationRecord, meanOf, type ProgressListener } from "./progress.js";
import type { RunSnapshot, RunStore } from "./run-store.js";

export interface DifferentialEvolutionOptions {
  readonly strategy: Strategy;
  readonly crossover: CrossoverSpec;
  readonly control: ParameterControl;
  readonly generations: number;
  readonly seed: number | string;
  /**
   * "async" (CADE, Evolver): targets in order, an accepted child replaces its parent at once and is
   * visible to later targets. "sync" (generational): all children are built from the generation's
   * start population, evaluated (in parallel), then selected.
   */
  readonly selection?: "async" | "sync";
  readonly direction?: "maximize" | "minimize";
  /** Children evaluated at once in sync mode (the fitness function may be a worker pool). */
  readonly concurrency?: number;
  /**
   * Skip evaluating children identical to their parent (possible with tiny CR and no j_rand); they are
   * rejected and counted in `skipped`, not in `evaluations` (docs/algorithms.md). Default true.
   */
  readonly skipIdentical?: boolean;
  /**
   * Re-evaluate the parent next to every child like CADE (2 evaluations per child; useful when the
   * fitness is noisy). Default false: parent fitness is cached.
   */
  readonly reevaluateParents?: boolean;
  /** Stop at the end of the first generation whose best fitness reaches this value. */
  readonly target?: number;
  readonly onProgress?: ProgressListener;
  /** Checkpoint store: loaded on start when `resume`, written after every generation. */
  readonly store?: RunStore;
  readonly resume?: boolean;
  /** Allocate genomes in SharedArrayBuffers (needed for zero-copy worker fitness). */
  readonly shared?: boolean;
  /**
   * Async selection only: children evaluated at once (default 1). The next k − 1 children are built and
   * evaluated speculatively and rebuilt from the same draws when an earlier decision changes their inputs;
   * the run is bit-identical to k = 1 (see de-lookahead.ts). Holds up to 3k extra genomes.
   */
  readonly lookahead?: number;
}

/** Fills the population in place: genome i is a zeroed view into the population buffer. */
export interface PopulationInit {
  readonly size: number;
  readonly dim: number;
  fill(i: number, genome: Float32Array): void | Promise<void>;
}

export interface DifferentialEvolutionResult {
  readonly population: Population;
  readonly fitness: Float64Array;
  readonly bestIndex: number;
  readonly best: Float32Array;
  readonly bestFitness: number;
  readonly evaluations: number;
  readonly skipped: number;
  readonly history: readonly GenerationRecord[];
  /** Speculative evaluations thrown away (async selection with lookahead > 1); not in `evaluations`. */
  readonly discarded: number;
}

/**
 * Differential evolution over float32 genomes stored in one population buffer. Randomness is consumed
 * on the main thread in a fixed order (per generation: control.begin, then per target the parameters,
 * the random indices and the crossover draws), so results are bit-identical for a seed whatever the
 * concurrency, and a run resumed from a checkpoint continues exactly.
 */
export class DifferentialEvolution {
  private readonly o: DifferentialEvolutionOptions;
  constructor(options: DifferentialEvolutionOptions) {
    if (!(Number.isInteger(options.generations) && options.generations >= 0)) {
      throw new EvolutionConfigError(`generations must be an integer >= 0, got ${options.generations}`);
    }
    validateCrossover(options.crossover);
    randomsNeeded(options.strategy);
    this.o = options;
  }

  /** Fingerprint of what must match between a checkpoint and a resumed run. */
  private fingerprint(size: number, dim: number): string {
    const o = this.o;
    return JSON.stringify({
      algorithm: "de",
      strategy: o.strategy,
      crossover: o.crossover,
      selection: o.selection ?? "async",
      direction: o.direction ?? "maximize",
      seed: o.seed,
      size,
      dim,
      skipIdentical: o.skipIdentical ?? true,
      reevaluateParents: o.reevaluateParents ?? false,
    });
  }

  /**
   * Run on an initial population given as genomes (copied into the engine's buffer; never modified), or as
   * an initializer that fills each genome in place (no second copy of a huge population in memory).
   */
  async run(
    initial: readonly Float32Array[] | PopulationInit,
    fitness: FitnessFunction,
  ): Promise<DifferentialEvolutionResult> {
    const o = this.o;
    const list = Array.isArray(initial) ? (initial as readonly Float32Array[]) : null;
    const init: PopulationInit = list
      ? { size: list.length, dim: list[0]?.length ?? 0, fill: (i, g) => g.set(list[i]) }
      : (initial as PopulationInit);
    const n = init.size;
    if (n < 1) throw new EvolutionConfigError("initial population is empty");
    const dim = init.dim;
    if (list) {
      for (let i = 0; i < n; i++) {
        if (list[i].length !== dim) {
          throw new EvolutionConfigError(`genome ${i} has length ${list[i].length}, expected ${dim}`);
        }
      }
    }
    if (n < randomsNeeded(o.strategy) + 1) {
      throw new EvolutionConfigError(
        `strategy ${o.strategy} needs a population of at least ${randomsNeeded(o.strategy) + 1}, got ${n}`,
      );
    }
    const sync = (o.selection ?? "async") === "sync";
    const maximize = (o.direction ?? "maximize") === "maximize";
    const better = (a: number, b: number): boolean => (maximize ? a > b : a < b);
    const skipIdentical = o.skipIdentical ?? true;
    const concurrency = Math.max(1, o.concurrency ?? 1);
    const lookahead = o.lookahead ?? 1;
    if (!(Number.isInteger(lookahead) && lookahead >= 1)) {
      throw new EvolutionConfigError(`lookahead must be an integer >= 1, got ${lookahead}`);
    }
    const pop = new Population(n, dim, {
      shared: o.shared,
      spare: sync ? n : lookahead > 1 ? 3 * lookahead : 1,
    });
    const ahead = !sync && lookahead > 1 ? lookaheadState(n, lookahead) : null;
    const fp = this.fingerprint(n, dim);

    let rng = new Rng(o.seed);
    let fit = new Float64Array(n);
    let evaluations = 0;
    let skipped = 0;
    let startGen = 0;
    let history: GenerationRecord[] = [];
    const snap = o.resume && o.store ? await o.store.load(fp, (i) => pop.genome(i), n) : null;
    if (snap) {
      rng = Rng.fromState(snap.rng as RngState);
      fit = Float64Array.from(snap.fitness);
      evaluations = snap.evaluations;
      skipped = snap.skipped;
      startGen = snap.generation;
      history = [...snap.history];
      o.control.restore(snap.control);
    } else {
      for (let i = 0; i < n; i++) await init.fill(i, pop.genome(i));
      const scores = await evaluateAll(
        fitness,
        pop.genomes().map((genome, i) => ({ genome, info: { target: i, generation: -1 } })),
        Math.max(concurrency, lookahead), // independent evaluations: lookahead's parallelism applies too
      );
      fit.set(scores);
      evaluations += n;
    }
    const bestIndex = (): number => {
      let b = 0;
      for (let i = 1; i < n; i++) if (better(fit[i], fit[b])) b = i;
      return b;
    };
    const save = async (generation: number): Promise<void> => {
      if (!o.store) return;
      const s: RunSnapshot = {
        fingerprint: fp,
        generation,
        evaluations,
        skipped,
        fitness: Array.from(fit),
        rng: rng.state(),
        control: o.control.state(),
        history,
      };
      await o.store.save(s, pop.genomes());
    };
    if (!snap) await save(0);

    const idx: number[] = [];
    const params: Params[] = new Array(n);
    const changed: boolean[] = new Array(n);
    for (let g = startGen; g < o.generations; g++) {
      if (o.target !== undefined && history.length > 0 && !better(o.target, fit[bestIndex()])) break;
      o.control.begin(g, rng);
      let accepted = 0;
      const decide = (i: number, childSlot: number, childFit: number, parentFit: number): void => {
        const won = better(childFit, parentFit);
        o.control.report(i, params[i], won, won ? Math.abs(childFit - parentFit) : 0);
        if (won) {
          pop.swap(i, childSlot);
          fit[i] = childFit;
          accepted++;
        } else {
          fit[i] = parentFit;
        }
      };
      if (sync) {
        const best = bestIndex();
        for (let i = 0; i < n; i++) {
          params[i] = o.control.sample(i, rng);
          const terms = strategyTerms(o.strategy, rng, (k) => pop.genome(k), n, i, best, params[i].f, idx);
          const stream = crossoverStream(o.crossover, rng, dim, params[i].cr);
          changed[i] = buildChild(pop.genome(n + i), pop.genome(i), terms, stream).changed;
        }
        const jobs: { genome: Float32Array; info: { target: number; generation: number } }[] = [];
        const which: number[] = [];
        for (let i = 0; i < n; i++) {
          if (skipIdentical && !changed[i]) continue;
          jobs.push({ genome: pop.genome(n + i), info: { target: i, generation: g } });
          which.push(i);
          if (o.reevaluateParents) jobs.push({ genome: pop.genome(i), info: { target: i, generation: g } });
        }
        const scores = await evaluateAll(fitness, jobs, concurrency);
        evaluations += jobs.length;
        const stride = o.reevaluateParents ? 2 : 1;
        const childFit = new Float64Array(n).fill(Number.NaN);
        const parentFit = Float64Array.from(fit);
        which.forEach((i, k) => {
          childFit[i] = scores[k * stride];
          if (o.reevaluateParents) parentFit[i] = scores[k * stride + 1];
        });
        for (let i = 0; i < n; i++) {
          if (skipIdentical && !changed[i]) {
            skipped++;
            o.control.report(i, params[i], false, 0);
            continue;
          }
          decide(i, n + i, childFit[i], parentFit[i]);
        }
      } else if (ahead) {
        const counts = { evaluations, skipped };
        await asyncGenerationWithLookahead(
          {
            pop,
            fit,
            rng,
            n,
            dim,
            generation: g,
            strategy: o.strategy,
            crossover: o.crossover,
            control: o.control,
            fitness,
            skipIdentical,
            reevaluateParents: o.reevaluateParents ?? false,
            lookahead,
            params,
            bestIndex,
            decide,
            counts,
          },
          ahead,
        );
        evaluations = counts.evaluations;
        skipped = counts.skipped;
      } else {
        for (let i = 0; i < n; i++) {
          params[i] = o.control.sample(i, rng);
          const terms = strategyTerms(
            o.strategy,
            rng,
            (k) => pop.genome(k),
            n,
            i,
            bestIndex(),
            params[i].f,
            idx,
          );
          const stream = crossoverStream(o.crossover, rng, dim, params[i].cr);
          const child = pop.genome(n);
          const stats = buildChild(child, pop.genome(i), terms, stream);
          if (skipIdentical && !stats.changed) {
            skipped++;
            o.control.report(i, params[i], false, 0);
            continue;
          }
          const info = { target: i, generation: g };
          const [cf, pf] = await evaluateAll(
            fitness,
            o.reevaluateParents
              ? [
                  { genome: child, info },
                  { genome: pop.genome(i), info },
                ]
              : [{ genome: child, info }],
            concurrency,
          );
          evaluations += o.reevaluateParents ? 2 : 1;
          decide(i, n, cf, o.reevaluateParents ? pf : fit[i]);
        }
      }
      o.control.end(g, rng);
      const rec: GenerationRecord = {
        generation: g,
        generations: o.generations,
        evaluations,
        skipped,
        accepted,
        best: fit[bestIndex()],
        mean: meanOf(fit),
        f: params[0]?.f ?? Number.NaN,
        cr: params[0]?.cr ?? Number.NaN,
      };
      history.push(rec);
      await save(g + 1);
      o.onProgress?.(rec);
    }
    await ahead?.inflight.settle(); // no thrown-away evaluation outlives the call
    const b = bestIndex();
    return {
      population: pop,
      fitness: fit,
      bestIndex: b,
      best: pop.genome(b),
      bestFitness: fit[b],
      evaluations,
      skipped,
      history,
      discarded: ahead?.inflight.discarded ?? 0,
    };
  }
}
