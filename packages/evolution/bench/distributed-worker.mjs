// A queue worker process for the distributed benchmark (Redis URL from X_REDIS_URL).
import { runWorker } from "../dist/distributed/index.js";

const handle = await runWorker({
  redis: process.env.X_REDIS_URL,
  concurrency: 1,
  name: process.env.X_WORKER_NAME,
  discoverIntervalMs: 100,
  ...(process.env.X_RUNS ? { runs: process.env.X_RUNS.split(",") } : {}),
  onEvent: (e) => {
    if (e.type === "run-joined" || e.type === "started") process.stdout.write(`${JSON.stringify(e)}\n`);
  },
});
await handle.done;
