import { formatSeconds } from "@x/tensor-core";

/** What a worker reports (for `x worker` to print). No event ever contains a password. */
export type WorkerEvent =
  | {
      readonly type: "started";
      readonly worker: string;
      readonly redis: string;
      readonly concurrency: number;
    }
  | { readonly type: "run-joined"; readonly runId: string }
  | { readonly type: "run-left"; readonly runId: string }
  | {
      readonly type: "job-started";
      readonly runId: string;
      readonly jobId: string;
      readonly candidate: string;
      /** 1 for the first try; more after a failure or a dead worker. */
      readonly attempt: number;
    }
  | {
      readonly type: "job-finished";
      readonly runId: string;
      readonly jobId: string;
      readonly candidate: string;
      readonly fitness: number;
      readonly ms: number;
    }
  | {
      readonly type: "job-failed";
      readonly runId: string;
      readonly jobId: string;
      readonly candidate: string;
      readonly error: string;
    }
  | {
      readonly type: "job-returned";
      readonly runId: string;
      readonly jobId: string;
      readonly candidate: string;
    }
  | { readonly type: "connection"; readonly state: "lost" | "restored"; readonly detail?: string }
  | { readonly type: "error"; readonly error: string }
  | { readonly type: "stopping"; readonly reason: string; readonly active: number }
  | { readonly type: "stopped"; readonly completed: number; readonly failed: number };

/** What a coordinator reports. */
export type CoordinatorEvent =
  | { readonly type: "ready"; readonly runId: string; readonly redis: string }
  | {
      readonly type: "submitted";
      readonly jobId: string;
      readonly candidate: string;
      readonly via: "redis" | "file";
    }
  | {
      readonly type: "completed";
      readonly jobId: string;
      readonly candidate: string;
      readonly fitness: number;
      readonly worker: string;
      /** True when the result was already in Redis (a resumed run, or an equal candidate). */
      readonly reused: boolean;
    }
  | { readonly type: "failed"; readonly jobId: string; readonly candidate: string; readonly error: string }
  | { readonly type: "resubmitted"; readonly jobId: string; readonly candidate: string; readonly why: string }
  | { readonly type: "connection"; readonly state: "lost" | "restored"; readonly detail?: string }
  | { readonly type: "cancelled"; readonly pending: number };

/** A fitness as `x worker` shows it: an integer as is, else 6 significant digits. */
export const formatFitness = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(6));

/** A worker event as one human line (`x worker` prints these); null for an event not worth a line. */
export function describeWorkerEvent(e: WorkerEvent): string | null {
  switch (e.type) {
    case "started":
      return `worker ${e.worker}: connected to ${e.redis}, ${e.concurrency} evaluation${e.concurrency === 1 ? "" : "s"} at a time; waiting for runs (Ctrl-C to stop)`;
    case "run-joined":
      return `joined run ${e.runId}`;
    case "run-left":
      return `left run ${e.runId} (its coordinator is gone or finished)`;
    case "job-started":
      return e.attempt > 1 ? `${e.runId}: ${e.candidate}: attempt ${e.attempt}` : null;
    case "job-finished":
      return `${e.runId}: ${e.candidate}: fitness ${formatFitness(e.fitness)} in ${formatSeconds(e.ms / 1000)}`;
    case "job-failed":
      return `${e.runId}: ${e.candidate} failed: ${e.error}`;
    case "job-returned":
      return `${e.runId}: ${e.candidate} handed back to the queue`;
    case "connection":
      return e.state === "lost"
        ? `connection to Redis lost${e.detail ? ` (${e.detail})` : ""}; retrying`
        : "connection to Redis restored";
    case "error":
      return `error: ${e.error}`;
    case "stopping":
      return `stopping (${e.reason}): ${e.active} running evaluation${e.active === 1 ? "" : "s"} handed back to the queue${e.reason === "SIGINT" ? "; Ctrl-C again to force" : ""}`;
    case "stopped":
      return `stopped: ${e.completed} evaluation${e.completed === 1 ? "" : "s"}, ${e.failed} failed`;
  }
}

/**
 * A coordinator event worth telling the user of a run as one line (a failed or re-enqueued candidate, the
 * connection lost or restored); null for the others.
 */
export function describeCoordinatorEvent(e: CoordinatorEvent): string | null {
  switch (e.type) {
    case "failed":
      return `${e.candidate} failed on a worker: ${e.error}`;
    case "resubmitted":
      return `${e.candidate} enqueued again: ${e.why}`;
    case "connection":
      return e.state === "lost"
        ? `connection to Redis lost${e.detail ? ` (${e.detail})` : ""}; waiting for it`
        : "connection to Redis restored";
    default:
      return null;
  }
}
