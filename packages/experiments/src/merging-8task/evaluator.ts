/** Accuracy of a (merged) backbone with each selected task's own expert head, on val or test. */

import type { Head, Params, Zoo } from "@x/zoo";
import { evaluateTasks } from "@x/zoo";
import { LinearPathEvaluator, type Split } from "./path-eval.js";

export type { Split };

export class Evaluator {
  evaluations = 0;
  constructor(
    readonly zoo: Zoo,
    /** Indices into zoo.experts / zoo.data.tasks. */
    readonly taskIdx: readonly number[],
  ) {}

  /** Per-task accuracy of `backbone` with the experts' heads (or `heads`, indexed like zoo tasks). */
  async accuracy(backbone: Params, split: Split, heads?: readonly Head[]): Promise<number[]> {
    this.evaluations++;
    return evaluateTasks(
      this.zoo.config.arch,
      backbone,
      this.taskIdx.map((k) => ({
        head: heads?.[k] ?? this.zoo.experts[k]!.head,
        data: this.zoo.data.tasks[k]![split],
      })),
    );
  }

  /** A fast evaluator for θ₀ + Σ_j c_j D_j on one split (counts its candidates into `evaluations`). */
  async path(
    split: Split,
    base: Params,
    directions: readonly Params[],
  ): Promise<{ accuracy(c: ArrayLike<number>): number[]; dispose(): void }> {
    const pe = await LinearPathEvaluator.create(this.zoo, this.taskIdx, split, base, directions);
    return {
      accuracy: (c) => {
        this.evaluations++;
        return pe.accuracy(c);
      },
      dispose: () => pe.dispose(),
    };
  }
}
