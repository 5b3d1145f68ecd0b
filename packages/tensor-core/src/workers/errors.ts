// Typed errors of the worker harness. A failure inside a worker thread reaches the caller as a
// WorkerTaskError carrying the worker's own error (name, message, code, stack), so nothing is lost
// crossing the thread boundary.

/** Problem codes of `WorkerError`; stable strings for programmatic handling. */
export type WorkerErrorCode =
  /** The caller runs from TypeScript sources, which a worker thread cannot load (build the package). */
  | "NOT_BUILT"
  /** The worker script does not exist. */
  | "NOT_FOUND"
  /** A worker's `setup` failed (or its module failed to load); the pool did not start. */
  | "SETUP"
  /** A method threw inside the worker (a `WorkerTaskError`). */
  | "TASK"
  /** The worker thread died (uncaught error, `process.exit`, out of memory) while running a call. */
  | "CRASHED"
  /** The call was aborted through its `AbortSignal`. */
  | "ABORTED"
  /** The pool was closed or terminated before the call ran. */
  | "CLOSED"
  /** Bad arguments to the harness itself (unknown slot, non-cloneable argument, ...). */
  | "USAGE";

/** A worker-harness failure; `pool` names the pool (its `name` option) for messages. */
export class WorkerError extends Error {
  override name = "WorkerError";
  readonly code: WorkerErrorCode;
  readonly pool: string;

  constructor(code: WorkerErrorCode, pool: string, problem: string, options?: ErrorOptions) {
    super(`${pool}: ${problem}`, options);
    this.code = code;
    this.pool = pool;
  }
}

/** An error as it crossed from a worker thread: everything but its class. */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** `err.code` when the worker's error had one (SafetensorsError, Node system errors, ...). */
  readonly code: string | number | undefined;
  /**
   * The error's other own fields with string, number or boolean values (a NonFiniteInputError's
   * `model`, `tensor`, `count`), so the caller can rebuild its typed error.
   */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

/** A method that threw inside a worker. `remote` is the worker's error; `stack` ends with the worker's stack. */
export class WorkerTaskError extends WorkerError {
  override name = "WorkerTaskError";
  readonly remote: RemoteError;
  readonly method: string;
  readonly slot: number;

  constructor(
    pool: string,
    slot: number,
    method: string,
    remote: RemoteError,
    code: WorkerErrorCode = "TASK",
  ) {
    super(code, pool, `worker ${slot}, ${method}(): ${remote.name}: ${remote.message}`);
    this.remote = remote;
    this.method = method;
    this.slot = slot;
    if (remote.stack) this.stack = `${this.stack ?? ""}\n  in the worker thread:\n${remote.stack}`;
  }
}

/** The cloneable description of anything thrown. */
export function toRemoteError(e: unknown): RemoteError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const details: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(e)) {
      if (key === "name" || key === "message" || key === "stack" || key === "code") continue;
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        details[key] = value;
      }
    }
    return {
      name: e.name,
      message: e.message,
      stack: e.stack,
      code: typeof code === "string" || typeof code === "number" ? code : undefined,
      details,
    };
  }
  return { name: "Error", message: String(e), stack: undefined, code: undefined, details: {} };
}
