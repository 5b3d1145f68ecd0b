import { signalExitCode } from "@x/tensor-core";

/** The exit code of a process stopped by a signal (tensor-core's convention, re-exported for run scripts). */
export { signalExitCode };

/** Ctrl-C / SIGTERM of a run that stops cleanly (see `catchInterrupts`). */
export interface Interrupts {
  /** Aborted by the first signal: give it to the run and to `createDistributedEvaluator`. */
  readonly signal: AbortSignal;
  /** The first signal that came, or null. */
  readonly caught: NodeJS.Signals | null;
  /** Stop listening (idempotent). */
  detach(): void;
}

/**
 * Listens for SIGINT / SIGTERM until `detach()`: the first aborts `signal` (a distributed evaluator given it
 * cancels its pending evaluations, on the workers too; the run stops at its last checkpoint); a second calls
 * `forced`, by default exiting at once with 130 (SIGINT) or 143 (SIGTERM).
 */
export function catchInterrupts(
  forced: (signal: NodeJS.Signals) => void = (s) => process.exit(signalExitCode(s)),
): Interrupts {
  const ac = new AbortController();
  let caught: NodeJS.Signals | null = null;
  const on = (sig: NodeJS.Signals): void => {
    if (caught !== null) {
      forced(sig);
      return;
    }
    caught = sig;
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  const onInt = (): void => on("SIGINT");
  const onTerm = (): void => on("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return {
    signal: ac.signal,
    get caught() {
      return caught;
    },
    detach() {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    },
  };
}
