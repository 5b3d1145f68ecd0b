/**
 * The 8-task merging experiment: every @x/merging method on the zoo's experts, each tuned on validation and scored
 * on test, over several zoo seeds, plus the accuracy-vs-number-of-tasks curve. `runMerging8Task` returns the
 * report; `writeMerging8TaskResults` writes `<name>.json` and `<name>.md`.
 */
import { type ExperimentHooks, writeResultFiles } from "../results.js";
import { MERGING_8TASK_DEFAULTS, runBenchmark, type ZooSetting, zooConfigFor } from "./experiment.js";
import { PLANS } from "./plan.js";
import { type BenchReport, markdown } from "./report.js";

export interface Merging8TaskOptions extends ZooSetting {
  /** Zoo seeds (default 1, 2, 3; 1 with `quick`). */
  readonly seeds?: readonly number[];
  /** Plan ids to run (default: all of `MERGING_8TASK_METHODS`). */
  readonly methods?: readonly string[];
  /** PCB with per-task λ from CMA-ES (default on). */
  readonly es?: boolean;
  /** The accuracy-vs-number-of-tasks curve (default on). */
  readonly curve?: boolean;
  /** λ grid of every λ-method (default 0.1–2.2, step 0.1). */
  readonly lambdas?: readonly number[];
  /** Zoo cache root (default $X_ZOO_CACHE or ./.zoo-cache) and training threads (default 2). */
  readonly cacheRoot?: string;
  readonly workers?: number;
  /** The command line recorded in the report. */
  readonly command?: string;
}

/** Plan ids, in table order. */
export const MERGING_8TASK_METHODS: readonly string[] = PLANS.map((p) => p.id);

export class ExperimentOptionError extends Error {
  override readonly name = "ExperimentOptionError";
}

export async function runMerging8Task(
  options: Merging8TaskOptions = {},
  hooks: ExperimentHooks = {},
): Promise<BenchReport> {
  for (const m of options.methods ?? []) {
    if (!MERGING_8TASK_METHODS.includes(m))
      throw new ExperimentOptionError(`unknown method '${m}' (known: ${MERGING_8TASK_METHODS.join(", ")})`);
  }
  const quick = options.quick ?? false;
  const seeds = options.seeds ?? (quick ? MERGING_8TASK_DEFAULTS.quickSeeds : MERGING_8TASK_DEFAULTS.seeds);
  return runBenchmark({
    command: options.command ?? "runMerging8Task",
    seeds,
    zooConfig: (seed) => zooConfigFor(seed, options),
    build: { root: options.cacheRoot, workers: options.workers ?? MERGING_8TASK_DEFAULTS.workers },
    methods: options.methods,
    es: options.es === false ? false : quick ? { budget: MERGING_8TASK_DEFAULTS.quickEsBudget } : undefined,
    curveKs: options.curve === false ? [] : undefined,
    lambdas: options.lambdas,
    log: hooks.log,
    progress: hooks.progress,
  });
}

/** Writes `<dir>/<name>.json` and `.md`; returns the paths. */
export function writeMerging8TaskResults(report: BenchReport, dir: string, name: string): string[] {
  return writeResultFiles(dir, name, [
    [".json", `${JSON.stringify(report, null, 1)}\n`],
    [".md", markdown(report)],
  ]);
}

export { MERGING_8TASK_DEFAULTS, type ZooSetting, zooConfigFor } from "./experiment.js";
export { type MergeCall, type MergeInputs, mergeBackbone } from "./merge.js";
export { LAMBDA_ALL, lambdaRange } from "./plan.js";
export {
  type BenchReport as Merging8TaskReport,
  type BenchSummary as Merging8TaskSummary,
  markdown as merging8TaskMarkdown,
  type RowSummary as Merging8TaskRowSummary,
  type Stat as Merging8TaskStat,
} from "./report.js";
export {
  mergeInputs,
  type RowResult as Merging8TaskRowResult,
  type SeedResult as Merging8TaskSeedResult,
} from "./run.js";
