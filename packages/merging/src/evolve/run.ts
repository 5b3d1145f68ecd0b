/**
 * `x evolve`: evolutionary search over a population of checkpoints, resumable bit for bit.
 *
 * * `algorithm: evolver` (differential evolution, Du et al. 2024): mode A (standalone) outputs the best
 *   individual by dev score; mode B (merge) outputs the merge of the evolved population.
 * * `algorithm: cmaes` (as mergekit-evolve): CMA-ES over one weight per model (and layer group) of the merge
 *   block's method, starting from the merge as configured (all weights 1); outputs the merge with the best
 *   weights found.
 *
 * The dev score comes from `evolveEvaluator` (an external command or a zoo) run here, or from any fitness
 * function given (a queue of workers: `@x/evolution/distributed`). Checkpoints go to OUT_DIR/checkpoint every
 * generation with a fingerprint of every setting that changes the result (`run-settings.ts`); `resume`
 * continues a killed run to exactly the result of an uninterrupted one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  CheckpointError,
  DirectoryRunStore,
  describeChanges,
  type EvalInfo,
  EvaluationCancelledError,
  EvaluationTimeoutError,
  evolve,
  guardFitness,
  minimizeCmaEs,
} from "@x/evolution";
import { Rng } from "@x/tensor-core";
import { evolveEvaluator, evolveEvaluatorOptions } from "./candidate-evaluator.js";
import { type EvolveConfig, EvolveConfigError } from "./config.js";
import { EvaluatorError } from "./evaluator.js";
import { layerGroups } from "./layer-groups.js";
import { writeModel } from "./models.js";
import { runSettings } from "./run-settings.js";
import { buildMerge, type LoadedPopulation, loadPopulation } from "./setup.js";
import { createEvolveTemporary, isEvolveTemporary, removeStaleEvolveTemporaries } from "./temporaries.js";

/** Scores a genome (higher is better): the weights of a candidate model, or CMA-ES's merge coefficients. */
export type EvolveFitness = (genome: Float32Array | Float64Array, info?: EvalInfo) => Promise<number>;

export interface EvolveRunOptions {
  /** Continue from OUT_DIR/checkpoint (a fresh start when there is none yet). */
  readonly resume?: boolean;
  /**
   * Scores candidates instead of the config's evaluator run in this process, e.g. a distributed evaluator's
   * `fitness` whose workers load `evolveEvaluatorSpec(config)`. It must score exactly as the local evaluator.
   */
  readonly fitness?: EvolveFitness;
  /**
   * Evaluations in flight at once (Evolver: speculative lookahead, bit-identical results; CMA-ES: candidates of a
   * generation at once). Default 1.
   */
  readonly lookahead?: number;
  /** Per-evaluation time limit of the local evaluator (ms); a candidate exceeding it stops the run. */
  readonly timeoutMs?: number;
  /** Aborting it stops the run: evaluations are cancelled (their processes killed), temporaries removed. */
  readonly signal?: AbortSignal;
  /** Called as evaluations finish (`done` of `total`), with a short status. */
  readonly onProgress?: (done: number, total: number, message: string) => void;
  /** Things the user should know (stale temporaries removed, a fresh start on resume). */
  readonly onNotice?: (message: string) => void;
}

export interface EvolveRunResult {
  readonly outDir: string;
  /** The written model directory (OUT_DIR/model). */
  readonly modelDir: string;
  /** OUT_DIR/evolve-result.json. */
  readonly resultFile: string;
  readonly algorithm: EvolveConfig["algorithm"];
  readonly mode: EvolveConfig["mode"];
  readonly outputScore: number;
  /** Evolver mode A: the output individual; -1 otherwise. */
  readonly outputIndex: number;
  /** Evolver: final scores of the population (mode B: of the merge); CMA-ES: [best score]. */
  readonly scores: number[];
  readonly evaluations: number;
  readonly accepted: number;
  readonly skipped: number;
  readonly evolvedTensors: number;
  readonly dim: number;
  /** CMA-ES: the best weights, one row per layer group, one column per population member. */
  readonly weights?: { readonly groups: string[]; readonly values: number[][] };
}

/** A finished run in one line: the output's dev score and what it is, evaluations, accepted children, where. */
export function formatEvolveResult(r: EvolveRunResult): string {
  const what =
    r.algorithm === "cmaes"
      ? "merge with the best weights"
      : r.mode === "merge"
        ? "merged population"
        : `individual ${r.outputIndex}`;
  return `dev score ${r.outputScore} (${what}), ${r.evaluations} evaluations${r.algorithm === "cmaes" ? "" : `, ${r.accepted} accepted`}; wrote ${r.modelDir}`;
}

/** A resume whose settings differ from the checkpoint's: names every changed key. */
export class EvolveResumeError extends Error {
  override readonly name = "EvolveResumeError";
}

/**
 * What output directory `outDir` holds for a resume: `checkpoint` (a run's `checkpoint/latest.json`), `missing`
 * (no such directory), `leftovers` (only what an earlier run killed before its first checkpoint leaves: the
 * checkpoint folder, temporaries; a resume starts from the beginning) or `foreign` (other files: no run of its).
 */
export function evolveResumeState(outDir: string): "checkpoint" | "missing" | "leftovers" | "foreign" {
  if (existsSync(join(outDir, "checkpoint", "latest.json"))) return "checkpoint";
  if (!existsSync(outDir)) return "missing";
  const foreign = readdirSync(outDir).filter((e) => e !== "checkpoint" && !isEvolveTemporary(e));
  return foreign.length > 0 ? "foreign" : "leftovers";
}

export async function runEvolve(
  cfg: EvolveConfig,
  outDirArg: string,
  options: EvolveRunOptions = {},
): Promise<EvolveRunResult> {
  const outDir = resolve(outDirArg);
  const notice = (m: string) => options.onNotice?.(m);
  const lookahead = options.lookahead ?? 1;
  if (!(Number.isInteger(lookahead) && lookahead >= 1))
    throw new EvaluatorError(`lookahead must be an integer >= 1, got ${lookahead}`);
  mkdirSync(outDir, { recursive: true });
  const stale = removeStaleEvolveTemporaries(outDir);
  if (stale.length > 0)
    notice(
      `removed ${stale.length} stale temporar${stale.length === 1 ? "y" : "ies"} of dead processes: ${stale.join(", ")}`,
    );
  const checkpointDir = join(outDir, "checkpoint");
  if (options.resume && !existsSync(join(checkpointDir, "latest.json")))
    notice(`no checkpoint in ${checkpointDir} yet: starting from the beginning`);

  const pop = await loadPopulation(evolveEvaluatorOptions(cfg));
  const { layout } = pop;
  const store = new DirectoryRunStore(checkpointDir, { settings: await runSettings(cfg, pop) });

  // The evaluator: the caller's (a queue), or the config's run here with its temporaries in OUT_DIR.
  const local = options.fitness
    ? null
    : await evolveEvaluator({ ...evolveEvaluatorOptions(cfg), scratch: outDir });
  const inFlight = new Set<Promise<unknown>>();
  const track: EvolveFitness = (genome, info) => {
    const p = local ? local.fitness(genome, info) : options.fitness!(genome, info);
    inFlight.add(p);
    void p.then(
      () => inFlight.delete(p),
      () => inFlight.delete(p),
    );
    return p;
  };
  const guarded = guardFitness(track, { timeoutMs: options.timeoutMs, signal: options.signal });
  let calls = 0;
  const evaluate = async (genome: Float32Array | Float64Array, info?: EvalInfo): Promise<number> => {
    const candidate = info
      ? `candidate ${info.target} of generation ${info.generation}`
      : `candidate ${++calls}`;
    if (options.signal?.aborted) throw new EvaluationCancelledError(candidate);
    try {
      // guardFitness needs an info (its own candidate text is replaced below); a queue gets the run's own, or
      // none (Evolver: its jobs are keyed by the genome alone).
      return local
        ? await guarded(genome, info ?? { target: -1, generation: -1 })
        : await track(genome, info);
    } catch (e) {
      if (options.signal?.aborted) throw new EvaluationCancelledError(candidate);
      if (e instanceof EvaluationTimeoutError) throw new EvaluationTimeoutError(candidate, e.timeoutMs);
      if (e instanceof Error && e.name === "EvaluatorError")
        throw new EvaluatorError(`${candidate}: ${e.message}`);
      throw e;
    }
  };

  try {
    const search: Search = { cfg, pop, store, evaluate, options, lookahead };
    const found = cfg.algorithm === "cmaes" ? await runCmaes(search) : await runEvolver(search);
    // The output model: written in a temporary directory, then renamed into place.
    const modelDir = join(outDir, "model");
    const tmpModel = createEvolveTemporary(outDir, "model");
    try {
      await writeModel(tmpModel, cfg.population[0]!, layout, found.output);
      rmSync(modelDir, { recursive: true, force: true });
      renameSync(tmpModel, modelDir);
    } finally {
      rmSync(tmpModel, { recursive: true, force: true });
    }
    const { output: _output, ...summary } = found;
    const result = {
      config: { ...cfg, include: cfg.include?.source ?? null, exclude: cfg.exclude?.source ?? null },
      ...summary,
      evolvedTensors: layout.evolved.length,
      dim: layout.dim,
      note: "Selection used only the evaluator's (dev) score; no test data is consulted.",
    };
    const resultFile = join(outDir, "evolve-result.json");
    writeFileSync(`${resultFile}.tmp`, `${JSON.stringify(result, null, 1)}\n`);
    renameSync(`${resultFile}.tmp`, resultFile);
    return {
      outDir,
      modelDir,
      resultFile,
      algorithm: cfg.algorithm,
      mode: cfg.mode,
      outputScore: found.outputScore,
      outputIndex: found.outputIndex,
      scores: found.scores,
      evaluations: found.evaluations,
      accepted: found.accepted,
      skipped: found.skipped,
      evolvedTensors: layout.evolved.length,
      dim: layout.dim,
      ...(found.weights ? { weights: found.weights } : {}),
    };
  } catch (e) {
    if (e instanceof CheckpointError && e.changes.length > 0) {
      const ours = e.changes.filter((c) => c.key.startsWith("settings."));
      const shown = (ours.length > 0 ? ours : e.changes).map((c) => ({
        ...c,
        key: c.key.replace(/^settings\./, ""),
      }));
      throw new EvolveResumeError(
        `${checkpointDir}: the checkpoint was written with other settings (${describeChanges(shown)}); restore them, or start a fresh run without --resume`,
      );
    }
    throw e;
  } finally {
    // Nothing may still write into the scratch directory when it is removed.
    await Promise.allSettled([...inFlight]);
    local?.close();
  }
}

/** What a search returns: the output genome, the result's numbers, and what goes into the result file only. */
type Found = Pick<
  EvolveRunResult,
  "outputScore" | "outputIndex" | "scores" | "evaluations" | "accepted" | "skipped" | "weights"
> & {
  readonly output: Float32Array;
  readonly history?: unknown;
  readonly runs?: unknown;
};

/** What a search algorithm gets from `runEvolve`. */
interface Search {
  readonly cfg: EvolveConfig;
  readonly pop: LoadedPopulation;
  readonly store: DirectoryRunStore;
  readonly evaluate: EvolveFitness;
  readonly options: EvolveRunOptions;
  readonly lookahead: number;
}

async function runEvolver({ cfg, pop, store, evaluate, options, lookahead }: Search): Promise<Found> {
  const n = pop.genomes.length;
  const coeffMerge = cfg.mode === "merge" ? await buildMerge(evolveEvaluatorOptions(cfg), pop) : null;
  const ones = new Float64Array(n).fill(1);
  const total = n * cfg.generations;
  let children = 0;
  const r = await evolve(pop.genomes, {
    mode: cfg.mode,
    merge: coeffMerge ? (genomes, out) => coeffMerge(genomes, ones, out) : undefined,
    f: cfg.f,
    cr: cfg.cr,
    generations: cfg.generations,
    seed: cfg.seed,
    // No candidate info: a queue job is then keyed by the genome alone, so a resumed run finds its results.
    score: (w) => evaluate(w),
    lookahead,
    store,
    resume: options.resume ?? false,
    onEvaluation: (e) => {
      children++;
      options.onProgress?.(e.generation * n + children, total, `dev ${e.current.toFixed(4)}`);
    },
    onProgress: (e) => {
      children = 0;
      options.onProgress?.(
        (e.generation + 1) * n,
        total,
        `gen ${e.generation + 1}/${e.generations} best ${e.best.toFixed(4)} accepted ${e.accepted}`,
      );
    },
  });
  return {
    output: r.output,
    outputScore: r.outputScore,
    outputIndex: r.outputIndex,
    scores: Array.from(r.scores),
    evaluations: r.evaluations,
    accepted: r.accepted,
    skipped: r.skipped,
    history: r.history,
  };
}

async function runCmaes({ cfg, pop, store, evaluate, options, lookahead }: Search): Promise<Found> {
  const s = cfg.cmaes!;
  const n = pop.genomes.length;
  const groups = layerGroups(pop.layout.evolved, s.layerGranularity, cfg.file);
  const merge = await buildMerge(evolveEvaluatorOptions(cfg), pop, groups.groupOf);
  const dims = groups.names.length * n;
  const lambda = s.popsize ?? 4 + Math.floor(3 * Math.log(dims));
  if (s.maxFevals < lambda)
    throw new EvolveConfigError(
      `${cfg.file}: cmaes.max_fevals: ${s.maxFevals} is less than one generation (popsize ${lambda})`,
    );
  // mergekit-evolve starts from fixed weights (or uniform random ones); ours start at the merge as configured.
  const x0 = s.randomInit
    ? randomWeights(dims, `x-evolve-cmaes-x0-${cfg.seed}`)
    : new Array<number>(dims).fill(1);
  const lower = new Array<number>(dims).fill(s.allowNegativeWeights ? -s.maxWeight : 0);
  const upper = new Array<number>(dims).fill(s.maxWeight);
  let done = options.resume ? checkpointEvaluations(join(store.dir)) : 0;
  let best = Number.NEGATIVE_INFINITY;
  const r = await minimizeCmaEs(
    async (x, info) => {
      const score = await evaluate(x, info);
      done++;
      if (score > best) best = score;
      options.onProgress?.(
        Math.min(done, s.maxFevals),
        s.maxFevals,
        `gen ${info.generation} best ${best.toFixed(4)}`,
      );
      return -score;
    },
    {
      x0,
      sigma0: s.sigma0,
      seed: cfg.seed,
      lambda,
      bounds: { lower, upper },
      restarts: s.restarts,
      maxEvaluations: s.maxFevals,
      concurrency: lookahead,
      store,
      resume: options.resume ?? false,
    },
  );
  const output = new Float32Array(pop.layout.dim);
  merge(pop.genomes, r.x, output);
  const values = groups.names.map((_, g) => Array.from(r.x.subarray(g * n, (g + 1) * n)));
  const outputScore = -r.f;
  return {
    output,
    outputScore,
    outputIndex: -1,
    scores: [outputScore],
    evaluations: r.evaluations,
    accepted: 0,
    skipped: 0,
    weights: { groups: groups.names, values },
    runs: r.runs,
  };
}

/** Evaluations done by the run whose checkpoint is in `dir` (0 without one): where a resumed progress bar starts. */
function checkpointEvaluations(dir: string): number {
  try {
    const pointer = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")) as { state: string };
    const state = JSON.parse(readFileSync(join(dir, pointer.state), "utf8")) as { evaluations?: unknown };
    return typeof state.evaluations === "number" ? state.evaluations : 0;
  } catch {
    return 0;
  }
}

/** mergekit-evolve's random_init: uniform weights in [0, 1), seeded. */
function randomWeights(n: number, seed: string): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.uniform());
}
