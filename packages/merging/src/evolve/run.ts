/**
 * Evolver over a population of checkpoints (`x evolve`): mode A (standalone) outputs the best individual by dev
 * score; mode B (merge) outputs the merge of the evolved population through the method registry. The dev score
 * comes from an external command (`runEvaluator`) or from a caller-supplied function (e.g. a model zoo's
 * validation accuracy). Checkpoints go to OUT_DIR/checkpoint every generation; `resume` continues a killed run
 * to exactly the result of an uninterrupted one.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DirectoryRunStore, evolve } from "@x/evolution";
import type { EvolveConfig } from "./config.js";
import { runEvaluator } from "./evaluator.js";
import { readGenome, readLayout, writeModel } from "./models.js";
import { mergeFunction } from "./registry-merge.js";
import { readSlotStats } from "./stats-files.js";

export interface EvolveRunOptions {
  /** Continue from OUT_DIR/checkpoint. */
  readonly resume?: boolean;
  /**
   * Scores a candidate model directory (higher is better). Required when the config names no evaluator command
   * (e.g. `evaluator: { zoo: ... }`, which the caller resolves).
   */
  readonly score?: (modelDir: string) => Promise<number>;
  /** Called after every child evaluation (`done` of `total` children) with the current dev score. */
  readonly onProgress?: (done: number, total: number, message: string) => void;
}

export interface EvolveRunResult {
  readonly outDir: string;
  /** The written model directory (OUT_DIR/model). */
  readonly modelDir: string;
  /** OUT_DIR/evolve-result.json. */
  readonly resultFile: string;
  readonly mode: EvolveConfig["mode"];
  readonly outputScore: number;
  readonly outputIndex: number;
  readonly scores: number[];
  readonly evaluations: number;
  readonly accepted: number;
  readonly skipped: number;
  readonly evolvedTensors: number;
  readonly dim: number;
}

export async function runEvolve(
  cfg: EvolveConfig,
  outDirArg: string,
  options: EvolveRunOptions = {},
): Promise<EvolveRunResult> {
  const outDir = resolve(outDirArg);
  const layout = await readLayout(cfg.population[0]!, cfg.include, cfg.exclude);
  const genomes = cfg.population.map(() => new Float32Array(layout.dim));
  for (let i = 0; i < genomes.length; i++) await readGenome(cfg.population[i]!, layout, genomes[i]!);
  let base: Float32Array | null = null;
  if (cfg.base) {
    base = new Float32Array(layout.dim);
    await readGenome(cfg.base, layout, base);
  }
  const evaluate =
    options.score ??
    (cfg.command
      ? (dir: string) => runEvaluator(cfg.command!, cfg.cwd, dir)
      : () => Promise.reject(new Error(`${cfg.file}: no evaluator command and no score function given`)));
  mkdirSync(outDir, { recursive: true });
  const scratch = mkdtempSync(join(outDir, ".candidates-"));
  let candidate = 0;
  const score = async (w: Float32Array): Promise<number> => {
    const dir = join(scratch, `c${candidate++}`);
    await writeModel(dir, cfg.population[0]!, layout, w);
    try {
      return await evaluate(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // Statistics belong to the slot: an evolved child keeps its parent's (see registry-merge.ts).
  const stats = cfg.merge?.stats
    ? await Promise.all(
        cfg.merge.stats.map((file, i) =>
          readSlotStats(
            file,
            cfg.population[i]!,
            layout.evolved,
            cfg.merge!.method === "fisher" ? "fisher" : "gram",
          ),
        ),
      )
    : undefined;
  const merge =
    cfg.mode === "merge" && cfg.merge
      ? mergeFunction(cfg.merge.method, layout.evolved, base ?? new Float32Array(layout.dim), {
          lambda: cfg.merge.lambda,
          tiesTopK: cfg.merge.topK,
          dareDrop: cfg.merge.drop,
          pcbRatio: cfg.merge.ratio,
          regmeanAlpha: cfg.merge.alpha,
          maskSeed: `x-evolve-${cfg.seed}`,
          stats,
          slotNames: cfg.population,
        })
      : undefined;
  const total = genomes.length * cfg.generations;
  let children = 0;
  try {
    const r = await evolve(genomes, {
      mode: cfg.mode,
      merge,
      f: cfg.f,
      cr: cfg.cr,
      generations: cfg.generations,
      seed: cfg.seed,
      score,
      store: new DirectoryRunStore(join(outDir, "checkpoint")),
      resume: options.resume ?? false,
      onEvaluation: (e) => {
        children++;
        options.onProgress?.(e.generation * genomes.length + children, total, `dev ${e.current.toFixed(4)}`);
      },
      onProgress: (e) => {
        children = 0;
        options.onProgress?.(
          (e.generation + 1) * genomes.length,
          total,
          `gen ${e.generation + 1}/${e.generations} best ${e.best.toFixed(4)} accepted ${e.accepted}`,
        );
      },
    });
    const modelDir = join(outDir, "model");
    await writeModel(modelDir, cfg.population[0]!, layout, r.output);
    const result = {
      config: { ...cfg, include: cfg.include?.source ?? null, exclude: cfg.exclude?.source ?? null },
      outputScore: r.outputScore,
      outputIndex: r.outputIndex,
      scores: Array.from(r.scores),
      evaluations: r.evaluations,
      skipped: r.skipped,
      accepted: r.accepted,
      history: r.history,
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
      mode: cfg.mode,
      outputScore: r.outputScore,
      outputIndex: r.outputIndex,
      scores: result.scores,
      evaluations: r.evaluations,
      accepted: r.accepted,
      skipped: r.skipped,
      evolvedTensors: layout.evolved.length,
      dim: layout.dim,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
