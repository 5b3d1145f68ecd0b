import { EvaluationCancelledError, EvaluationTimeoutError, FitnessError } from "./errors.js";

/** Context passed with each fitness call. */
export interface EvalInfo {
  /** Population slot the genome competes for (CMA-ES: the candidate's index in its generation). */
  readonly target: number;
  /** Generation, counted from 0; -1 is the initial population. */
  readonly generation: number;
  /**
   * Aborted when the evaluation times out or the run is cancelled (set by `guardFitness`). Evaluators that
   * start child processes should pass it on (`execFile(..., { signal })`) so nothing outlives the run.
   */
  readonly signal?: AbortSignal;
}

/**
 * A fitness function: higher is better unless the optimizer is told to minimize. It may be async
 * (e.g. run in a worker pool) and must be deterministic in the genome: equal genomes, equal scores.
 * It must not keep or modify the genome view after its promise settles.
 */
export type FitnessFunction = (genome: Float32Array, info: EvalInfo) => number | Promise<number>;

/** Human-readable name of a candidate for error messages: "target 3 in generation 5". */
export function describeCandidate(info: Pick<EvalInfo, "target" | "generation"> | undefined): string {
  if (!info) return "a candidate";
  return info.generation < 0
    ? `individual ${info.target} of the initial population`
    : `target ${info.target} in generation ${info.generation}`;
}

function checked(v: number, info: EvalInfo): number {
  if (typeof v !== "number" || Number.isNaN(v)) {
    throw new FitnessError(`fitness of ${describeCandidate(info)} is not a number: ${String(v)}`);
  }
  return v;
}

export interface GuardOptions {
  /** Per-evaluation time limit in ms; a candidate that exceeds it fails with EvaluationTimeoutError. */
  readonly timeoutMs?: number;
  /** Run-wide cancellation (e.g. aborted on Ctrl-C): pending and new evaluations fail with EvaluationCancelledError. */
  readonly signal?: AbortSignal;
}

/**
 * Wrap a fitness function with a per-evaluation timeout and run-wide cancellation. Each call gets its own
 * AbortSignal in `info.signal`, aborted on timeout or cancellation, so an evaluator that runs a child process
 * can kill it; the wrapper rejects at once either way, whether or not the evaluator honours the signal.
 * Works for any genome type (Float32Array for DE / Evolver, Float64Array for CMA-ES).
 */
export function guardFitness<G>(
  fitness: (genome: G, info: EvalInfo) => number | Promise<number>,
  o: GuardOptions,
): (genome: G, info: EvalInfo) => Promise<number> {
  const timeoutMs = o.timeoutMs;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new FitnessError(`evaluation timeout must be a positive number of ms, got ${timeoutMs}`);
  }
  return (genome, info) => {
    const candidate = describeCandidate(info);
    if (o.signal?.aborted) return Promise.reject(new EvaluationCancelledError(candidate, reasonOf(o.signal)));
    const ac = new AbortController();
    const onOuterAbort = (): void => ac.abort(new EvaluationCancelledError(candidate, reasonOf(o.signal!)));
    o.signal?.addEventListener("abort", onOuterAbort, { once: true });
    const callSignal = info.signal;
    if (callSignal) {
      // a per-call signal from the caller (e.g. a queue cancelling a job) also aborts this evaluation
      const link = (): void => ac.abort(callSignal.reason);
      if (callSignal.aborted) link();
      else callSignal.addEventListener("abort", link, { once: true });
    }
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<never>((_, reject) => {
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => ac.abort(new EvaluationTimeoutError(candidate, timeoutMs)), timeoutMs);
      }
      const fail = (): void => {
        const r = ac.signal.reason;
        reject(r instanceof FitnessError ? r : new EvaluationCancelledError(candidate, reasonText(r)));
      };
      if (ac.signal.aborted) fail();
      else ac.signal.addEventListener("abort", fail, { once: true });
    });
    const run = (async () => fitness(genome, { ...info, signal: ac.signal }))();
    run.catch(() => {}); // an abandoned evaluation that fails later must not become an unhandled rejection
    return Promise.race([run, stopped]).finally(() => {
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener("abort", onOuterAbort);
    });
  };
}

function reasonOf(signal: AbortSignal): string | undefined {
  return reasonText(signal.reason);
}

function reasonText(r: unknown): string | undefined {
  if (r === undefined) return undefined;
  if (r instanceof Error) return r.name === "AbortError" ? undefined : r.message;
  return String(r);
}

/**
 * Evaluate jobs with at most `concurrency` in flight. Results are stored by job index, so the outcome
 * never depends on completion order.
 */
export async function evaluateAll(
  fitness: FitnessFunction,
  jobs: readonly { genome: Float32Array; info: EvalInfo }[],
  concurrency: number,
): Promise<number[]> {
  const out = new Array<number>(jobs.length);
  let nextJob = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    for (;;) {
      if (failed) return;
      const j = nextJob++;
      if (j >= jobs.length) return;
      const { genome, info } = jobs[j];
      try {
        out[j] = checked(await fitness(genome, info), info);
      } catch (e) {
        failed = true; // stop starting new evaluations once one has failed
        throw e;
      }
    }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.max(1, Math.min(concurrency, jobs.length)); i++) lanes.push(lane());
  await Promise.all(lanes);
  return out;
}

/** One evaluation, checked. */
export async function evaluateOne(
  fitness: FitnessFunction,
  genome: Float32Array,
  info: EvalInfo,
): Promise<number> {
  return checked(await fitness(genome, info), info);
}
