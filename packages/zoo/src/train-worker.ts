/** Worker-thread entry: runs zoo training jobs posted by the pool (one tfjs wasm instance per worker). */
import { parentPort } from "node:worker_threads";
import { runJob, type TrainJob } from "./jobs.js";

const port = parentPort;
if (!port) throw new Error("train-worker must run in a worker thread");
port.on("message", async (job: TrainJob) => {
  try {
    let last = 0;
    const result = await runJob(job, (done, total) => {
      // Throttle progress messages; the final step is always reported.
      if (done - last >= 5 || done === total) {
        port.postMessage({ type: "progress", id: job.id, done, total });
        last = done;
      }
    });
    port.postMessage({ type: "result", result });
  } catch (err) {
    port.postMessage({ type: "error", id: job.id, message: (err as Error).stack ?? String(err) });
  }
});
