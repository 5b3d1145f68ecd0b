/** Invalid configuration of an optimizer (bad F, CR, population size, strategy, ...). */
export class EvolutionConfigError extends Error {
  override readonly name: string = "EvolutionConfigError";
}

/** One setting that differs between a checkpoint and the run that tries to resume it. */
export interface FingerprintChange {
  /** Dotted path of the setting, e.g. `seed` or `settings.merge.lambda`. */
  readonly key: string;
  /** Value in the checkpoint (undefined: the checkpoint did not have the key). */
  readonly checkpoint: unknown;
  /** Value in this run (undefined: this run does not have the key). */
  readonly run: unknown;
}

/** A checkpoint that is missing, truncated, or belongs to a different run configuration. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  constructor(
    readonly path: string,
    message: string,
    /** When the configuration differs: the settings that changed. */
    readonly changes: readonly FingerprintChange[] = [],
  ) {
    super(`${path}: ${message}`);
  }
}

/** A fitness function returned something that is not a number, threw, timed out or was cancelled. */
export class FitnessError extends Error {
  override readonly name: string = "FitnessError";
}

/** An evaluation took longer than its timeout; the message names the candidate. */
export class EvaluationTimeoutError extends FitnessError {
  override readonly name = "EvaluationTimeoutError";
  constructor(
    readonly candidate: string,
    readonly timeoutMs: number,
  ) {
    super(`evaluation of ${candidate} exceeded the ${timeoutMs} ms timeout`);
  }
}

/** An evaluation was stopped because the run was cancelled (Ctrl-C, an AbortSignal). */
export class EvaluationCancelledError extends FitnessError {
  override readonly name = "EvaluationCancelledError";
  constructor(
    readonly candidate: string,
    reason?: string,
  ) {
    super(`evaluation of ${candidate} was cancelled${reason ? `: ${reason}` : ""}`);
  }
}
