/**
 * The tour's merging section: the small model zoo (real MNIST / Fashion-MNIST images, the merging experiment's
 * quick configuration) merged with the main methods over several zoo seeds, each method's hyperparameters
 * selected on validation and reported on test, plus the average accuracy against the number of merged tasks.
 * Everything comes from `runMerging8Task`; this file only reshapes its report.
 */

import { runMerging8Task } from "../merging-8task/index.js";
import { PLANS } from "../merging-8task/plan.js";
import type { ExperimentHooks } from "../results.js";
import type { MergingSection, TourMergeMethod, TourParamValue } from "./types.js";

/** Methods of the tour, in the page's order (all on the task-count curve of the experiment). */
export const TOUR_MERGE_METHODS = ["averaging", "task_arithmetic", "ties", "pcb"] as const;

export interface TourMergingOptions {
  readonly seeds: readonly number[];
  /** Tasks merged (2..8). */
  readonly tasks: number;
  readonly cacheRoot?: string;
  readonly workers?: number;
  readonly command: string;
}

const REFERENCES = [
  { id: "expert", label: "Individual experts" },
  { id: "joint", label: "Joint multi-task training" },
  { id: "pretrained", label: "Pretrained backbone" },
];

function plainParams(params: Record<string, unknown> | undefined): Record<string, TourParamValue> {
  const out: Record<string, TourParamValue> = {};
  for (const [k, v] of Object.entries(params ?? {}))
    out[k] = typeof v === "number" || typeof v === "string" || typeof v === "boolean" ? v : null;
  return out;
}

export async function tourMerging(o: TourMergingOptions, hooks: ExperimentHooks): Promise<MergingSection> {
  const report = await runMerging8Task(
    {
      seeds: o.seeds,
      quick: true,
      tasks: o.tasks,
      methods: [...TOUR_MERGE_METHODS],
      es: false,
      curve: true,
      cacheRoot: o.cacheRoot,
      workers: o.workers,
      command: o.command,
    },
    hooks,
  );
  const methods: TourMergeMethod[] = [];
  const rowsOf = (id: string) =>
    report.perSeed.map((s) => {
      const row = s.rows[id];
      if (!row) throw new Error(`merging experiment: seed ${s.seed} has no row "${id}"`);
      return {
        seed: s.seed,
        params: plainParams(row.params),
        testAccuracy: [...row.test],
        ...(row.val ? { valAccuracy: [...row.val] } : {}),
      };
    });
  for (const r of REFERENCES) methods.push({ ...r, role: "reference", perSeed: rowsOf(r.id) });
  for (const id of TOUR_MERGE_METHODS) {
    const label = PLANS.find((p) => p.id === id)?.label ?? id;
    methods.push({ id, label, role: "merge", perSeed: rowsOf(id) });
  }
  const taskCountCurve = TOUR_MERGE_METHODS.map((method) => ({
    method,
    points: report.perSeed.flatMap((s) =>
      Object.entries(s.curve)
        .map(([k, byMethod]) => ({ k: Number(k), p: byMethod[method] }))
        .filter((e) => e.p !== undefined)
        .sort((a, b) => a.k - b.k)
        .map(({ k, p }) => ({
          numTasks: k,
          seed: s.seed,
          tasks: [...p!.tasks],
          avgTestAccuracy: p!.testAvg,
        })),
    ),
  }));
  return {
    status: "ok",
    tasks: [...report.tasks],
    seeds: [...report.seeds],
    selection:
      "every hyperparameter (λ, TIES density, PCB ratio) chosen on the validation split per seed, reported on test",
    methods,
    taskCountCurve,
  };
}
