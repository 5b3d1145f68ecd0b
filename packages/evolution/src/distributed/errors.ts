import { FitnessError } from "../errors.js";

/** A Redis URL or connection setting that cannot be used (the message never contains the password). */
export class RedisConfigError extends Error {
  override readonly name = "RedisConfigError";
}

/** A candidate's evaluation failed on the workers after all its attempts, or could not be enqueued. */
export class DistributedEvaluationError extends FitnessError {
  override readonly name = "DistributedEvaluationError";
  constructor(
    /** "target 3 in generation 5" */
    readonly candidate: string,
    /** Job id in the run's queue. */
    readonly jobId: string,
    /** The last worker's message (prefixed with the worker's name). */
    readonly reason: string,
  ) {
    super(`evaluation of ${candidate} (job ${jobId}) failed: ${reason}`);
  }
}
