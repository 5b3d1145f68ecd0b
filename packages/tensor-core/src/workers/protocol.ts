// Messages between a WorkerPool and the workers it starts (see define.ts for the worker side).

import type { RemoteError } from "./errors.js";

/** Key under which the pool passes a worker its slot, the thread count and its init value (workerData). */
export const HARNESS_KEY = "__xWorkerHarness";

export interface HarnessData {
  readonly pool: string;
  readonly slot: number;
  readonly threads: number;
  readonly init: unknown;
}

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
  | { readonly t: "closed" };
