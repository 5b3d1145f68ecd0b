/** A merge that cannot proceed because of its inputs (missing tensors, shapes, layout); names model and tensor. */
export class MergeInputError extends Error {
  override readonly name = "MergeInputError";
}
