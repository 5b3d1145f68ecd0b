// Worker thread of PCB streaming-global's balance-score pass: scores one column range of the
// shared in-memory task store with `scoreChunk` and hands back, through shared memory, each task's
// maximum and pass-1 histogram counts. The main thread blocks on `status` (Atomics.wait), so
// results travel through SharedArrayBuffers, not messages.

import { parentPort } from "node:worker_threads";
import { StreamingQuantile } from "@x/tensor-core";
import { MagnitudeStats } from "./score.js";
import { scoreChunk } from "./score-pass.js";
import type { ScoreJob } from "./score-threads.js";

function run(job: ScoreJob): void {
  const n = job.rows.length;
  const mag = new MagnitudeStats(job.lo, job.hi, job.guard);
  const sels = Array.from({ length: n }, () => new StreamingQuantile(() => []));
  const colSum = new Float32Array(Math.min(job.chunk, job.end - job.start));
  job.max.fill(Number.NEGATIVE_INFINITY);
  for (let a = job.start; a < job.end; a += job.chunk) {
    const e = Math.min(job.end, a + job.chunk);
    scoreChunk(
      job.rows.map((r) => r.subarray(a, e)),
      mag,
      job.inter,
      job.guard,
      colSum,
      job.max,
      sels,
    );
    Atomics.add(job.status, 1, 1);
  }
  sels.forEach((s, i) => {
    job.counts.set(s.topCounts(), i * 65536);
  });
}

parentPort?.on("message", (job: ScoreJob) => {
  try {
    run(job);
    Atomics.store(job.status, 0, 1);
  } catch (e) {
    const msg = new TextEncoder().encode(String((e as Error)?.stack ?? e)).subarray(0, job.error.length);
    job.error.set(msg);
    Atomics.store(job.status, 0, 2);
  }
  Atomics.notify(job.status, 0);
});
