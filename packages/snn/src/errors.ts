/** An invalid model, neuron, training or CADE configuration; the message names the option and the value. */
export class SnnConfigError extends Error {
  override readonly name = "SnnConfigError";
}

/**
 * A checkpoint the model cannot take: missing, unexpected or misshaped tensor, unsupported dtype, unreadable
 * file. `file` and (when one tensor is at fault) `tensor` say where.
 */
export class SnnCheckpointError extends Error {
  override readonly name = "SnnCheckpointError";
  constructor(
    readonly file: string,
    problem: string,
    readonly tensor?: string,
  ) {
    super(tensor === undefined ? `${file}: ${problem}` : `${file}: tensor "${tensor}": ${problem}`);
  }
}

/** A data set that does not exist or cannot be used (path, format, shape, labels). */
export class SnnDataError extends Error {
  override readonly name = "SnnDataError";
}
