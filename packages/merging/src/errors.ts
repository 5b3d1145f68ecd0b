// Typed errors of merges over inputs (as opposed to MergeMethodError, about a method's parameters or
// a tensor's shapes). Messages name the model, tensor or path and what is wrong.

/** A merge that cannot proceed because of its inputs (missing tensors, shapes, layout); names model and tensor. */
export class MergeInputError extends Error {
  override readonly name: string = "MergeInputError";
}

/**
 * NaN or ±Inf values in an input tensor. Merging them would write NaN (or silently drop them, for the
 * methods that sparsify); `allowNonfinite` proceeds instead and reports what it found.
 */
export class NonFiniteInputError extends MergeInputError {
  override readonly name = "NonFiniteInputError";

  constructor(
    /** The input: a model path, "base", or "model i". */
    readonly model: string,
    readonly tensor: string,
    /** Non-finite values in that tensor of that input. */
    readonly count: number,
    /** Further inputs / tensors with non-finite values (first few), for the message. */
    more = 0,
  ) {
    super(
      `${model}: tensor '${tensor}' has ${count} non-finite value${count === 1 ? "" : "s"} (NaN or ±Inf)` +
        (more > 0 ? `, and ${more} more tensor${more === 1 ? "" : "s"} of the inputs have some` : "") +
        "; fix the checkpoint, or pass allowNonfinite (x merge --allow-nonfinite) to merge them as they are",
    );
  }
}

/** The output directory cannot be used: it overlaps an input, or another merge holds its lock. */
export class OutputDirError extends MergeInputError {
  override readonly name: string = "OutputDirError";
}

/** Another live process is writing the same output directory (its lock file names it). */
export class OutputLockedError extends OutputDirError {
  override readonly name = "OutputLockedError";
}
