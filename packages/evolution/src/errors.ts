/** Invalid configuration of an optimizer (bad F, CR, population size, strategy, ...). */
export class EvolutionConfigError extends Error {
  override readonly name = "EvolutionConfigError";
}

/** A checkpoint that is missing, truncated, or belongs to a different run configuration. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** A fitness function returned something that is not a finite number, or threw. */
export class FitnessError extends Error {
  override readonly name = "FitnessError";
}
