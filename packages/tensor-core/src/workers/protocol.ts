// Messages between a WorkerPool and the workers it starts (see define.ts for the worker side).

import type { MessagePort } from "node:worker_threads";
import type { RemoteError } from "./errors.js";

/** Key under which the pool passes a worker its slot, the thread count and its init value (workerData). */
export const HARNESS_KEY = "__xWorkerHarness";

export interface HarnessData {
  readonly pool: string;
  readonly slot: number;
  readonly threads: number;
  readonly init: unknown;
  /**
   * The worker's replies go here (not through parentPort), so a caller blocked on `PostedCall.wait`
   * can take them synchronously (receiveMessageOnPort).
   */
  readonly replies: MessagePort;
  /** Shared [replies posted, exited]: bumped after every reply and on exit, for `Atomics.wait`. */
  readonly signal: Int32Array;
}

/** Indices into `HarnessData.signal`. */
export const SIGNAL_POSTED = 0;
export const SIGNAL_EXITED = 1;

export type ToWorker =
  | { readonly t: "call"; readonly id: number; readonly method: string; readonly arg: unknown }
  | { readonly t: "abort"; readonly id: number }
  | { readonly t: "close" };

export type FromWorker =
  | { readonly t: "ready"; readonly methods: readonly string[] }
  | { readonly t: "setup-error"; readonly error: RemoteError }
  | { readonly t: "result"; readonly id: number; readonly value: unknown }
  | { readonly t: "error"; readonly id: number; readonly error: RemoteError }
  | { readonly t: "progress"; readonly id: number; readonly value: unknown }
  | { readonly t: "crashed"; readonly error: RemoteError }
  | { readonly t: "closed" };
