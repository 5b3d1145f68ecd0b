// Worker thread of PCB streaming-global's store-only passes (see score-threads.ts): scores one
// column range of the shared in-memory task store with `scoreChunk` (pass 3), or feeds it to pass-2
// selectors built from the main thread's plans (pass 2), and hands results back through shared
// memory (the caller is blocked in `PostedCall.wait`, the result value itself is empty).

import { StreamingQuantile } from "@x/tensor-core";
import { defineWorker } from "@x/tensor-core/workers";
import { RankWindow } from "./rank-window.js";
import { MagnitudeStats } from "./score.js";
import { scoreChunk } from "./score-pass.js";
import type { LowJob, ScoreJob, StoreJob } from "./store-jobs.js";

function score(job: ScoreJob): void {
  const mag = new MagnitudeStats(job.lo, job.hi, job.guard);
  const wins = job.cand.map((c, i) => new RankWindow(job.winLo[i], job.winHi[i], c.length, c, job.pos[i]));
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
      wins,
      a,
    );
  }
  wins.forEach((w, i) => {
    job.below[i] = w.below;
    job.count[i] = w.count;
    job.posCount[i] = w.posCount;
  });
}

function refine(job: LowJob): void {
  const sels = job.plans.map((p) => StreamingQuantile.fromLowPlan(p));
  for (let a = job.start; a < job.end; a += job.chunk) {
    const e = Math.min(job.end, a + job.chunk);
    for (let i = 0; i < sels.length; i++) sels[i].addLow(job.rows[i], a, e);
  }
  sels.forEach((s, i) => {
    job.counts[i].set(s.lowCounts().counts);
  });
}

const scoreWorker = defineWorker({
  methods: {
    run: (job: StoreJob): void => (job.kind === "score" ? score(job) : refine(job)),
  },
});
export default scoreWorker;
