// Text reports of a training run and a CADE run, as `x snn train` and `x snn cade` print them.
import { formatSeconds } from "@x/tensor-core";
import type { CadeArm } from "./cade/arms.js";
import { describeSpec } from "./model/describe.js";
import type { ModelSpec } from "./model/spec.js";
import type { EpochRecord } from "./train/state.js";

/** What `x snn train` reports of a run (its --json document has these fields and more). */
export interface TrainReport {
  readonly out: string;
  readonly spec: ModelSpec;
  readonly parameters: number;
  readonly data: string;
  readonly classes: readonly number[] | null;
  readonly trainImages: number;
  readonly valImages: number;
  readonly keepBest: boolean;
  readonly backend: string;
  readonly steps: number;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number | null;
  readonly resumed: boolean;
  readonly elapsedMs: number;
}

/** The model, the data, one line per epoch (loss, learning rate, validation accuracy), then steps, time and file. */
export function formatTrainReport(r: TrainReport): string {
  return [
    `${describeSpec(r.spec)} (${r.parameters.toLocaleString("en-US")} parameters)`,
    `data: ${r.data}${r.classes ? ` classes ${r.classes.join(",")}` : ""}, ${r.trainImages} training images, ${r.valImages > 0 ? `${r.valImages} validation` : "no validation"}`,
    "epoch  loss     lr         validation",
    ...r.history.map(
      (h) =>
        `${String(h.epoch + 1).padEnd(5)}  ${h.loss.toFixed(4).padEnd(7)}  ${h.lr.toPrecision(3).padEnd(9)}  ${h.valAccuracy === null ? "-" : `${(100 * h.valAccuracy).toFixed(2)}%`}`,
    ),
    `${r.steps} steps on ${r.backend} in ${formatSeconds(r.elapsedMs / 1000)}${r.resumed ? " (resumed)" : ""}; wrote ${r.out}${r.keepBest && r.bestEpoch !== null ? ` (epoch ${r.bestEpoch + 1}, best by validation)` : ""}`,
  ].join("\n");
}

/** What `x snn cade` reports of a run (its --json document has these fields and more). */
export interface CadeReport {
  readonly out: string;
  readonly spec: ModelSpec;
  readonly arm: CadeArm;
  readonly generations: number;
  readonly seed: number;
  readonly engine: string;
  readonly data: { readonly fitness: number; readonly val: number; readonly test: number | null };
  /** Validation accuracy (%) of each initial individual, the best of them and its test accuracy. */
  readonly initial: {
    readonly val: readonly number[];
    readonly bestByVal: number;
    readonly bestVal: number;
    readonly bestTest: number | null;
  };
  readonly evaluations: number;
  readonly accepted: number;
  readonly selectedScores: {
    readonly index: number;
    readonly fitness: number;
    readonly val: number;
    readonly test: number | null;
  };
  /** Counts of the Redis queue (`completed`: evaluations done on workers), when the run used one. */
  readonly queue: Readonly<Record<string, number>> | null;
  readonly elapsedMs: number;
}

const percent = (x: number | null) => (x === null ? "-" : `${x.toFixed(2)}%`);

/** The arm and settings, the population, the data, the best initial and the selected individual, the cost. */
export function formatCadeReport(r: CadeReport): string {
  const s = r.selectedScores;
  return [
    `CADE arm ${r.arm.kind} (${JSON.stringify(r.arm)}), ${r.generations} generations, seed ${r.seed}, engine ${r.engine}`,
    `population: ${r.initial.val.length} × ${describeSpec(r.spec)}`,
    `data: fitness ${r.data.fitness} images, validation ${r.data.val}, test ${r.data.test ?? "none"}`,
    `best initial individual by validation: #${r.initial.bestByVal}  validation ${percent(r.initial.bestVal)}  test ${percent(r.initial.bestTest)}`,
    `selected by validation:                #${s.index}  validation ${percent(s.val)}  test ${percent(s.test)}  fitness ${percent(s.fitness)}`,
    `${r.evaluations} fitness evaluations, ${r.accepted} children accepted${r.queue ? `, ${r.queue.completed} on workers` : ""}; ${formatSeconds(r.elapsedMs / 1000)}; wrote ${r.out}`,
  ].join("\n");
}
