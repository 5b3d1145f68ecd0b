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
