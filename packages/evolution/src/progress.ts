/** One line of run history, also emitted as a progress event after every generation. */
export interface GenerationRecord {
  /** Generation just finished, 0-based. */
  readonly generation: number;
  /** Total number of generations the run will do. */
  readonly generations: number;
  /** Fitness evaluations so far (including the initial population). */
  readonly evaluations: number;
  /** Children identical to their parent that were not evaluated. */
  readonly skipped: number;
  /** Children accepted this generation. */
  readonly accepted: number;
  readonly best: number;
  readonly mean: number;
  /** F and CR used (the first child's when they vary per child). */
  readonly f: number;
  readonly cr: number;
}

export type ProgressListener = (event: GenerationRecord) => void;

export function meanOf(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}
