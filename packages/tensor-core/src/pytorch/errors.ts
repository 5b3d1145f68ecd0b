// Typed errors of the PyTorch checkpoint reader. Every message names the file (and the tensor, global
// or opcode where one is involved) so a user can find the bad input without a stack trace.

/** Problem codes of `PytorchError`; stable strings for programmatic handling. */
export type PytorchErrorCode =
  /** The pickle asks for a global or an opcode outside the tensor-rebuild allowlist (see UnsafePickleError). */
  | "UNSAFE"
  /** Malformed file: a truncated pickle, a broken zip directory, a tensor outside its storage. */
  | "FORMAT"
  /** A well-formed file this reader does not handle (big-endian data, legacy tar format, encryption...). */
  | "UNSUPPORTED"
  /** The pickle holds something other than a mapping of names to tensors. */
  | "NOT_A_STATE_DICT"
  | "NOT_FOUND"
  | "READ";

/** A PyTorch checkpoint (`pytorch_model.bin`, sharded index) that cannot be read. */
export class PytorchError extends Error {
  override name = "PytorchError";
  readonly code: PytorchErrorCode;
  readonly file: string;
  readonly tensor: string | undefined;

  constructor(
    code: PytorchErrorCode,
    file: string,
    problem: string,
    tensor?: string,
    options?: ErrorOptions,
  ) {
    const where = tensor === undefined ? file : `${file}: tensor ${JSON.stringify(tensor)}`;
    super(`${where}: ${problem}`, options);
    this.code = code;
    this.file = file;
    this.tensor = tensor;
  }
}

/**
 * A pickle refused because it would do more than rebuild tensors: it names a global outside the
 * allowlist (e.g. `posix.system`, `builtins.eval`) or uses an opcode the reader does not accept.
 * Nothing of the pickle is executed; loading it in Python with `torch.load(weights_only=False)` could
 * run arbitrary code.
 */
export class UnsafePickleError extends PytorchError {
  override name = "UnsafePickleError";
  /** `module.name` of the refused global, if a global was refused. */
  readonly global: string | undefined;
  /** Name of the refused opcode (e.g. `INST`), if an opcode was refused. */
  readonly opcode: string | undefined;
  /** Byte offset of the refused opcode in the pickle stream. */
  readonly offset: number;

  constructor(file: string, what: { global?: string; opcode?: string; offset: number; problem: string }) {
    super("UNSAFE", file, what.problem);
    this.global = what.global;
    this.opcode = what.opcode;
    this.offset = what.offset;
  }
}
