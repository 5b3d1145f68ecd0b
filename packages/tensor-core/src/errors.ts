// Typed errors of the tensor and safetensors layers. Every message names the file and/or tensor involved so a
// user can find the bad input without a stack trace.

/** Invalid tensor construction or conversion (shape/data mismatch, unsupported dtype conversion). */
export class TensorError extends Error {
  override name = "TensorError";
}

/** A name for a message: JSON-quoted, cut after 200 characters (hostile files carry megabyte names). */
function quoteName(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

/** Problem codes of `SafetensorsError`; stable strings for programmatic handling. */
export type SafetensorsErrorCode =
  | "HEADER_TOO_SMALL"
  | "HEADER_TOO_LARGE"
  | "HEADER_LENGTH"
  | "HEADER_UTF8"
  | "HEADER_START"
  | "HEADER_JSON"
  | "DUPLICATE_KEY"
  | "INVALID_ENTRY"
  | "UNKNOWN_DTYPE"
  | "INVALID_SHAPE"
  | "SIZE_MISMATCH"
  | "INVALID_OFFSETS"
  | "FILE_SIZE"
  | "METADATA"
  | "TRUNCATED"
  | "NOT_FOUND"
  | "READ"
  | "WRITE"
  | "CLOSED";

/** A malformed or unreadable safetensors file, or a misuse of the reader/writer. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
  readonly code: SafetensorsErrorCode;
  readonly file: string;
  readonly tensor: string | undefined;

  constructor(
    code: SafetensorsErrorCode,
    file: string,
    problem: string,
    tensor?: string,
    options?: ErrorOptions,
  ) {
    const where = tensor === undefined ? file : `${file}: tensor ${quoteName(tensor)}`;
    super(`${where}: ${problem}`, options);
    this.code = code;
    this.file = file;
    this.tensor = tensor;
  }
}

/** Problem codes of `CheckpointError`. */
export type CheckpointErrorCode = "NOT_FOUND" | "UNSUPPORTED" | "INDEX" | "MISSING_TENSOR" | "SHARD_LIMIT";

/** A model directory / sharded index that cannot be used (missing files, bad index, pickle-only checkpoints). */
export class CheckpointError extends Error {
  override name = "CheckpointError";
  readonly code: CheckpointErrorCode;
  readonly path: string;
  readonly tensor: string | undefined;

  constructor(
    code: CheckpointErrorCode,
    path: string,
    problem: string,
    tensor?: string,
    options?: ErrorOptions,
  ) {
    const where = tensor === undefined ? path : `${path}: tensor ${quoteName(tensor)}`;
    super(`${where}: ${problem}`, options);
    this.code = code;
    this.path = path;
    this.tensor = tensor;
  }
}
