// The Node-only half of the `pcb` method: streaming-global's sessions (worker threads, spill files) and
// its WebAssembly fast path over stored bytes, with a memory budget taken from the machine's memory.
// Loading this module installs them into the method (`methods/index.ts` does, for the package entry);
// `@x/merging/browser` leaves it out, and streaming-global then computes through the reference session.

import { totalmem } from "node:os";
import { fastPcbSession } from "../pcb/fast/session.js";
import { streamingPcbSession } from "../pcb/streaming.js";
import { installPcbNodeSessions } from "./pcb.js";

/**
 * Default `memory_budget` of streaming-global for a machine with `totalBytes` of memory: a quarter of
 * it, at least 1 GiB. It bounds the fast path's windows and, with `fast_window: 0`, how much of a model
 * stays resident (in as many WebAssembly memories as it needs: ≈ 47 bytes per parameter with 8 F32
 * tasks); it bounds the general path's task store. Only speed and memory depend on it, never the output.
 */
export function defaultMemoryBudget(totalBytes: number = totalmem()): number {
  return Math.max(2 ** 30, Math.floor(totalBytes / 4 / 2 ** 20) * 2 ** 20);
}

export const STREAMING_MEMORY_BUDGET = defaultMemoryBudget();

installPcbNodeSessions({
  memoryBudget: STREAMING_MEMORY_BUDGET,
  streaming: streamingPcbSession,
  fast: fastPcbSession,
});
