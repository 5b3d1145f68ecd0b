// Coefficient search on checkpoints: every candidate λ is written as a real model directory and scored by
// a user evaluator (a JS function or `commandEvaluator`). The merge is prepared once — inputs opened,
// tensors planned and, for global-scope methods, the statistics passes run (PCB: clamp bounds, score
// thresholds) — so each candidate only redoes the per-tensor final merge (PCB: the weighted sum, step 7).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MergeConfig, ParameterMap } from "../config/index.js";
import { MergeInputError } from "../errors.js";
import {
  type MergeCheckpointsResult,
  type PrepareMergeOptions,
  prepareCheckpointMerge,
  type WriteMergeOptions,
} from "../exec/prepared.js";
import {
  type CoefficientSearchOptions,
  type CoefficientSearchResult,
  searchCoefficients,
} from "./cmaes-search.js";
import type { DirectoryEvaluator } from "./evaluator.js";

export interface CheckpointSearchOptions extends Omit<CoefficientSearchOptions, "numTasks"> {
  /** The per-model parameter searched (default "weight": PCB's λ_i, TA/TIES's w_i). */
  readonly param?: string;
  /** Where candidate directories are created (default: the OS temp dir); each is removed after scoring. */
  readonly workDir?: string;
  /** Write the winning model here (with model card and mergekit_config.yml). */
  readonly outDir?: string;
  readonly prepare?: PrepareMergeOptions;
  readonly write?: Omit<WriteMergeOptions, "modelParameters" | "overwrite">;
}

export interface CheckpointSearchResult extends CoefficientSearchResult {
  /** The config with the winning coefficients filled in. */
  readonly config: MergeConfig;
  /** The winner's write result, when `outDir` was given. */
  readonly written?: MergeCheckpointsResult;
}

/** Per-task coefficient search (CMA-ES, validation split) for a checkpoint merge; the winner is scored on test. */
export async function searchCheckpointCoefficients(
  config: MergeConfig,
  evaluate: DirectoryEvaluator,
  options: CheckpointSearchOptions = {},
): Promise<CheckpointSearchResult> {
  const param = options.param ?? "weight";
  if (config.models.length === 0) {
    throw new MergeInputError(
      "coefficient search varies the per-model parameters of a models: config; this config uses slices or modules",
    );
  }
  const prepared = await prepareCheckpointMerge(config, options.prepare);
  const work = await mkdtemp(join(options.workDir ?? tmpdir(), "x-merge-search-"));
  try {
    const indices = prepared.mergeModelIndices;
    const paramsFor = (lambdas: ArrayLike<number>): ParameterMap[] =>
      config.models.map((m, i) => {
        const j = indices.indexOf(i);
        return j < 0 ? m.parameters : { ...m.parameters, [param]: lambdas[j]! };
      });
    let candidate = 0;
    const result = await searchCoefficients(
      async (lambdas, split) => {
        const dir = join(work, `candidate-${++candidate}`);
        await prepared.write(dir, {
          ...options.write,
          modelParameters: paramsFor(lambdas),
          writeModelCard: false,
        });
        try {
          return await evaluate(dir, split);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
      { ...options, numTasks: indices.length },
    );
    const best = paramsFor(result.lambdas);
    const bestConfig: MergeConfig = {
      ...config,
      models: config.models.map((m, i) => ({ ...m, parameters: best[i]! })),
    };
    const written = options.outDir
      ? await prepared.write(options.outDir, { ...options.write, modelParameters: best })
      : undefined;
    return { ...result, config: bestConfig, ...(written ? { written } : {}) };
  } finally {
    await rm(work, { recursive: true, force: true });
    await prepared.close();
  }
}
