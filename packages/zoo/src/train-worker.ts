/** Worker thread of the zoo trainer pool (pool.ts): one TensorFlow.js instance per worker, one job at a time. */
import { defineWorker } from "@x/tensor-core/workers";
import { type JobResult, runJob, type TrainJob } from "./jobs.js";
import { getTf } from "./tf.js";

/** What a trainer reports while a job runs (every 5 optimizer steps, and the last). */
export interface TrainProgress {
  readonly id: string;
  readonly done: number;
  readonly total: number;
}

const trainWorker = defineWorker({
  // TensorFlow.js and its backend load once per worker, before the first job.
  setup: async () => {
    await getTf();
  },
  methods: {
    train: async (job: TrainJob, ctx): Promise<JobResult> => {
      let last = 0;
      return runJob(job, (done, total) => {
        // Throttled; the final step is always reported.
        if (done - last >= 5 || done === total) {
          ctx.progress({ id: job.id, done, total } satisfies TrainProgress);
          last = done;
        }
      });
    },
  },
});
export default trainWorker;
