/**
 * The live panel's interface: merge the model zoo in the browser with a chosen method and its
 * parameters, and score every task on its test split. The implementation needs browser entry points of
 * @x/tensor-core and @x/merging and the zoo's weights served with the page; until a build has them,
 * {@link loadLiveMerger} says so and the panel shows no numbers.
 */

/** Methods the live panel offers (registry names of @x/merging). */
export const LIVE_METHODS = [
  { id: "task_arithmetic", label: "Task arithmetic", usesRatio: false },
  { id: "ties", label: "TIES-Merging", usesRatio: false },
  { id: "pcb", label: "PCB-Merging", usesRatio: true },
] as const;

export type LiveMethod = (typeof LIVE_METHODS)[number]["id"];

export interface LiveMergeParams {
  /** Scaling λ of the merged task vector. */
  readonly lambda: number;
  /** PCB's kept ratio r (fraction of entries kept), for `pcb`. */
  readonly pcbRatio?: number;
}

export interface LiveMergeResult {
  readonly tasks: readonly string[];
  /** Test accuracy per task, fractions in [0, 1], in the order of `tasks`. */
  readonly testAccuracy: readonly number[];
}

export interface LiveMerger {
  mergeAndEvaluate(method: LiveMethod, params: LiveMergeParams): Promise<LiveMergeResult>;
}

export type LiveMergerState =
  | { readonly available: true; readonly merger: LiveMerger }
  | { readonly available: false; readonly reason: string };

export const LIVE_UNAVAILABLE_REASON =
  "Live panel not available in this build: merging in the browser needs browser entry points of @x/tensor-core and @x/merging and the model zoo's weights served with the page. The controls show what it will offer; no numbers are computed or shown here.";

export async function loadLiveMerger(): Promise<LiveMergerState> {
  return { available: false, reason: LIVE_UNAVAILABLE_REASON };
}
