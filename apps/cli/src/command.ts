/** One `x` sub-command. `run` returns the process exit code. */
export interface Command {
  /** Words after `x`, e.g. "merge" or "zoo build". */
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: string[]): Promise<number>;
}

/** A usage error: printed as one line with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
