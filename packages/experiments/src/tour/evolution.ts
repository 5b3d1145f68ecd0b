/**
 * The tour's evolution section: a short Evolver run (mode A, standalone) on the Evolver experiment's Fashion-MNIST
 * domain experts (its setup and evaluator, small sizes), best and mean dev accuracy of the population after every
 * generation, against random search at the same number of dev evaluations (task arithmetic of the experts with
 * Dirichlet coefficients, λ first chosen on dev from the experiment's grid; its best so far). Test accuracy of
 * each run's final choice is reported, never used.
 */
import { evolve } from "@x/evolution";
import { coefficientMerge, mergeFunction } from "@x/merging/evolve";
import { Rng } from "@x/tensor-core";
import { defaultOptions, dirichletCoefficients, mergeSettings } from "../evolver/experiment.js";
import { buildSetup, Evaluator, type ExperimentSizes, genomeLayout } from "../evolver/setup.js";
import type { TourEvolutionRun } from "./types.js";

export interface TourEvolverOptions {
  readonly sizes: ExperimentSizes;
  readonly generations: number;
  readonly log?: (message: string) => void;
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
};

/** Evolver and random search on one seed's experts: two runs with curves at the same evaluation counts. */
export async function tourEvolverSeed(seed: number, o: TourEvolverOptions): Promise<TourEvolutionRun[]> {
  const setup = await buildSetup(seed, o.sizes, o.log);
  const devEval = await Evaluator.create(setup.arch, [setup.dev]);
  const testEval = await Evaluator.create(setup.arch, setup.testPerDomain);
  try {
    const dev = (g: Float32Array) => devEval.accuracy(g)[0]!;
    const test = (g: Float32Array) => mean(testEval.accuracy(g));
    const n = setup.experts.length;
    const { f, cr, lambdaGrid } = defaultOptions(false);

    // Evolver, mode A: the initial population's scores are its first n evaluations.
    const initial = setup.experts.map(dev);
    const evo = { evaluations: [n], best: [Math.max(...initial)], mean: [mean(initial)] };
    const r = await evolve(setup.experts, {
      mode: "standalone",
      f,
      cr,
      generations: o.generations,
      seed: `demo-tour-evolver-${seed}`,
      score: dev,
    });
    for (const h of r.history) {
      evo.evaluations.push(h.evaluations);
      evo.best.push(h.best);
      evo.mean.push(h.mean);
    }

    // Random search at the same evaluation counts: λ of task arithmetic on dev first, then Dirichlet weights.
    const layout = genomeLayout(setup.arch);
    const out = new Float32Array(setup.dim);
    const settings = (lambda: number) => mergeSettings(seed, lambda);
    let evaluations = 0;
    let best = Number.NEGATIVE_INFINITY;
    const bestWeights = new Float32Array(setup.dim);
    const consider = (s: number) => {
      evaluations++;
      if (s > best) {
        best = s;
        bestWeights.set(out);
      }
    };
    let lambda = lambdaGrid[0]!;
    for (const l of lambdaGrid) {
      await mergeFunction("ta", layout, setup.base, settings(l))(setup.experts, out);
      const s = dev(out);
      if (s > best) lambda = l;
      consider(s);
    }
    const cm = coefficientMerge("ta", layout, setup.base, settings(lambda));
    const rng = new Rng(`demo-tour-random-search-${seed}`);
    const rnd = { evaluations: [] as number[], best: [] as number[] };
    for (const target of evo.evaluations) {
      while (evaluations < target) {
        await cm(setup.experts, dirichletCoefficients(rng, n), out);
        consider(dev(out));
      }
      rnd.evaluations.push(evaluations);
      rnd.best.push(best);
    }
    o.log?.(
      `seed ${seed}: Evolver dev ${r.outputScore.toFixed(3)}, random search dev ${best.toFixed(3)} (${evaluations} evaluations each)`,
    );
    return [
      {
        id: `evolver-${seed}`,
        label: "Evolver (mode A)",
        algorithm: "evolver",
        seed,
        curve: evo,
        final: { dev: r.outputScore, test: test(r.output) },
      },
      {
        id: `random-search-${seed}`,
        label: "random search (task arithmetic, Dirichlet weights)",
        algorithm: "random-search",
        seed,
        curve: rnd,
        final: { dev: best, test: test(bestWeights) },
      },
    ];
  } finally {
    devEval.dispose();
    testEval.dispose();
  }
}
