import { FitnessError } from "./errors.js";

/** Context passed with each fitness call. */
export interface EvalInfo {
  /** Population slot the genome competes for. */
  readonly target: number;
  readonly generation: number;
}

/**
 * A fitness function: higher is better unless the optimizer is told to minimize. It may be async
 * (e.g. run in a worker pool) and must be deterministic in the genome: equal genomes, equal scores.
 * It must not keep or modify the genome view after its promise settles.
 */
export type FitnessFunction = (genome: Float32Array, info: EvalInfo) => number | Promise<number>;

function checked(v: number, info: EvalInfo): number {
  if (typeof v !== "number" || Number.isNaN(v)) {
    throw new FitnessError(
      `fitness for target ${info.target} in generation ${info.generation} is not a number: ${String(v)}`,
    );
  }
  return v;
}

/**
 * Evaluate jobs with at most `concurrency` in flight. Results are stored by job index, so the outcome
 * never depends on completion order.
 */
export async function evaluateAll(
  fitness: FitnessFunction,
  jobs: readonly { genome: Float32Array; info: EvalInfo }[],
  concurrency: number,
): Promise<number[]> {
  const out = new Array<number>(jobs.length);
  let nextJob = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const j = nextJob++;
      if (j >= jobs.length) return;
      const { genome, info } = jobs[j];
      out[j] = checked(await fitness(genome, info), info);
    }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.max(1, Math.min(concurrency, jobs.length)); i++) lanes.push(lane());
  await Promise.all(lanes);
  return out;
}

/** One evaluation, checked. */
export async function evaluateOne(
  fitness: FitnessFunction,
  genome: Float32Array,
  info: EvalInfo,
): Promise<number> {
  return checked(await fitness(genome, info), info);
}
