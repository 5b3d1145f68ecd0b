/**
 * The zoo's training jobs as plain data in, plain data out, so the same function runs in-process or in a
 * worker thread (structured clone carries the Maps and typed arrays). An expert job also computes the expert's
 * Fisher diagonal and Gram matrices, which need exactly that expert's weights.
 */
import type { ImageSet } from "@x/datasets";
import type { Head, MlpArch, Params } from "./model.js";
import { fisherDiagonal, layerGrams } from "./stats.js";
import { type TrainOptions, train } from "./train.js";

export interface JobTask {
  readonly name: string;
  readonly head: Head;
  readonly numClasses: number;
  readonly train: ImageSet;
  /** Samples for Fisher / Gram statistics (expert jobs only). */
  readonly stats?: ImageSet;
}

export interface TrainJob {
  readonly id: string;
  readonly arch: MlpArch;
  readonly backbone: Params;
  readonly tasks: readonly JobTask[];
  readonly options: Omit<TrainOptions, "onStep">;
}

export interface JobResult {
  readonly id: string;
  readonly backbone: Params;
  readonly heads: Head[];
  readonly epochLoss: number[];
  readonly fisher?: Params;
  readonly grams?: Params;
}

export async function runJob(
  job: TrainJob,
  onStep?: (done: number, total: number) => void,
): Promise<JobResult> {
  const r = await train(
    job.arch,
    job.backbone,
    job.tasks.map((t) => ({ head: t.head, numClasses: t.numClasses, data: t.train })),
    { ...job.options, onStep },
  );
  const only = job.tasks.length === 1 ? job.tasks[0] : undefined;
  if (!only?.stats) return { id: job.id, ...r };
  const fisher = await fisherDiagonal(job.arch, r.backbone, r.heads[0]!, only.stats);
  const grams = await layerGrams(job.arch, r.backbone, only.stats);
  return { id: job.id, ...r, fisher, grams };
}
