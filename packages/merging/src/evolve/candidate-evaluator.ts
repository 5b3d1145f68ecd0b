/**
 * The evaluator of `x evolve` as an `@x/evolution` evaluator factory: `{ module: "@x/merging/evolve", export:
 * "evolveEvaluator", options }`. A local run and a queue worker (`x worker`) load it with the same options, so
 * they score a candidate with the same code: write the candidate as a model directory (the evolved tensors from
 * the genome, every other file and tensor from the first population member), score it with the config's
 * evaluator (an external command, or a zoo's validation accuracy), remove it.
 *
 * Two genome kinds: `model` (Evolver: the genome is the evolved weights, or the merge of the population) and
 * `coefficients` (CMA-ES: the genome is one weight per model and layer group; the evaluator merges the
 * population with them first, so only a few numbers travel to a worker, which reads the models from its own
 * disk). A worker needs the package and the data at the same paths as the coordinator.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EvalInfo } from "@x/evolution";
import type { EvolveConfig } from "./config.js";
import { EvaluatorError, runEvaluator } from "./evaluator.js";
import { layerGroups } from "./layer-groups.js";
import { readLayout, writeModel } from "./models.js";
import { buildMerge, loadPopulation, type PopulationSpec } from "./setup.js";
import { createEvolveTemporary } from "./temporaries.js";

/** How a candidate model directory is scored: an external command, or a zoo (see `registerZooScorer`). */
export type ScorerSpec =
  | { readonly command: readonly string[]; readonly cwd: string }
  | { readonly zoo: string };

/** The options of `evolveEvaluator` (plain JSON: they travel in every queue job). */
export interface EvolveEvaluatorOptions extends PopulationSpec {
  readonly genome: "model" | "coefficients";
  readonly scorer: ScorerSpec;
  /** Layers per coefficient group (coefficients only; 0 = one group). */
  readonly layerGranularity: number;
  /** The config file (named in errors). */
  readonly file: string;
  /**
   * Where candidate directories are written (`.candidates-<host>-<pid>-*` inside it). Default: the OS temp
   * directory. Not part of what travels: a local run sets it to its output directory.
   */
  readonly scratch?: string;
}

/** What the factory returns: `fitness` scores a genome (higher is better); `close` removes the scratch. */
export interface EvolveEvaluator {
  readonly fitness: (genome: Float32Array | Float64Array, info?: EvalInfo) => Promise<number>;
  close(): void;
}

/** Scores a candidate model directory against a zoo directory (higher is better). */
export type ZooScorer = (zooDir: string, modelDir: string) => Promise<number>;
let zooScorer: ZooScorer | null = null;

/**
 * Installs the scorer of `evaluator: { zoo: DIR }` (the `x` CLI installs the mean validation accuracy of
 * `@x/zoo`, which this package does not depend on). Call it before loading a zoo-scored evaluator.
 */
export function registerZooScorer(scorer: ZooScorer): void {
  zooScorer = scorer;
}

/** The evaluator options of a config (what `x evolve --redis` sends to the workers). */
export function evolveEvaluatorOptions(cfg: EvolveConfig): EvolveEvaluatorOptions {
  return {
    genome: cfg.algorithm === "cmaes" ? "coefficients" : "model",
    file: cfg.file,
    population: cfg.population,
    base: cfg.base,
    include: cfg.include?.source ?? null,
    exclude: cfg.exclude?.source ?? null,
    merge: cfg.merge,
    seed: cfg.seed,
    layerGranularity: cfg.cmaes?.layerGranularity ?? 0,
    scorer: cfg.zoo ? { zoo: cfg.zoo } : { command: cfg.command ?? [], cwd: cfg.cwd },
  };
}

/** The evaluator spec of a config for `createDistributedEvaluator` / `loadEvaluator`. */
export function evolveEvaluatorSpec(cfg: EvolveConfig): {
  module: string;
  export: string;
  options: EvolveEvaluatorOptions;
} {
  return { module: "@x/merging/evolve", export: "evolveEvaluator", options: evolveEvaluatorOptions(cfg) };
}

function scorerOf(s: ScorerSpec): (dir: string, signal?: AbortSignal) => Promise<number> {
  if ("zoo" in s) {
    const zooDir = s.zoo;
    return async (dir) => {
      if (!zooScorer)
        throw new EvaluatorError(
          `evaluator.zoo needs a zoo scorer: call registerZooScorer() first (the x CLI does; it uses @x/zoo)`,
        );
      return zooScorer(zooDir, dir);
    };
  }
  return (dir, signal) => runEvaluator(s.command, s.cwd, dir, signal);
}

/** The factory (`export: "evolveEvaluator"`): loads the layout (and, for coefficients, the population) once. */
export async function evolveEvaluator(options: unknown): Promise<EvolveEvaluator> {
  const o = options as EvolveEvaluatorOptions;
  if (!o || (o.genome !== "model" && o.genome !== "coefficients") || !Array.isArray(o.population))
    throw new EvaluatorError(
      "evolveEvaluator: options are not an x evolve evaluator's (evolveEvaluatorOptions)",
    );
  const template = o.population[0]!;
  const score = scorerOf(o.scorer);
  let toWeights: (genome: Float32Array | Float64Array) => Float32Array;
  let layout: Awaited<ReturnType<typeof readLayout>>;
  if (o.genome === "model") {
    layout = await readLayout(
      template,
      o.include === null ? null : new RegExp(o.include),
      o.exclude === null ? null : new RegExp(o.exclude),
    );
    toWeights = (g) => {
      if (!(g instanceof Float32Array) || g.length !== layout.dim)
        throw new EvaluatorError(`a model genome must be ${layout.dim} float32 values, got ${g.length}`);
      return g;
    };
  } else {
    const pop = await loadPopulation(o);
    layout = pop.layout;
    const groups = layerGroups(layout.evolved, o.layerGranularity, o.file);
    const merge = await buildMerge(o, pop, groups.groupOf);
    const size = groups.names.length * pop.genomes.length;
    toWeights = (g) => {
      if (g.length !== size)
        throw new EvaluatorError(`a coefficient genome must have ${size} values, got ${g.length}`);
      const out = new Float32Array(layout.dim);
      merge(pop.genomes, g, out);
      return out;
    };
  }
  let scratch: string | null = null;
  let next = 0;
  return {
    async fitness(genome, info) {
      const signal = info?.signal;
      const weights = toWeights(genome);
      scratch ??= createEvolveTemporary(o.scratch ?? tmpdir(), "candidates");
      const dir = join(scratch, `c${next++}`);
      try {
        await writeModel(dir, template, layout, weights);
        if (signal?.aborted) throw new EvaluatorError("the evaluation was stopped");
        return await score(dir, signal);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    close() {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      scratch = null;
    },
  };
}
