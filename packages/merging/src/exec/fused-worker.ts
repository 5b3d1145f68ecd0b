// Helper-thread entry of the fused dense-linear path (see fused-helpers.ts): computes element ranges of
// pieces in shared buffers and answers each with { ok }.

import { parentPort } from "node:worker_threads";
import { type FromFusedHelper, type FusedRangeTask, runFusedRange } from "./fused-helpers.js";

const port = parentPort!;
port.on("message", (task: FusedRangeTask) => {
  let reply: FromFusedHelper;
  try {
    runFusedRange(task);
    reply = { ok: true };
  } catch (err) {
    reply = { ok: false, message: (err as Error).message };
  }
  port.postMessage(reply);
});
