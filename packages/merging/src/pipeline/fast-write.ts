// The single-thread write loop: tensor by tensor in output order. Fused linear tensors (linear-fast.ts)
// are pipelined: while one is computed, the next one's inputs are read (file reads run on libuv's
// thread pool, so they overlap the computation) and the previous result is being written. That needs
// two banks of stored input bytes and two output buffers, which is only done when it fits the memory
// bound of (inputs + 2) × largest tensor as float32; otherwise tensors go one after another.

import type { MergeConfig } from "../config/index.js";
import type { TensorSink, TensorSource } from "../io/types.js";
import type { DenseLinearPlan } from "../methods/gta.js";
import { type LinearDType, linearBytes, type RawTensor } from "./linear-fast.js";
import type { PreparedCheckpointMerge } from "./run.js";

/** One output tensor that takes the fused linear path. */
export interface FastLinearJob {
  readonly index: number;
  readonly name: string;
  readonly numel: number;
  /** The base first, then the merged models. */
  readonly sources: readonly TensorSource[];
  /** Stored dtype of each source's copy of the tensor. */
  readonly dtypes: readonly LinearDType[];
  readonly plan: DenseLinearPlan;
  readonly outDtype: LinearDType;
  readonly computeDtype: MergeConfig["dtype"];
}

const rawBytesOf = (job: FastLinearJob) => job.dtypes.reduce((s, dt) => s + job.numel * linearBytes(dt), 0);
const outBytesOf = (job: FastLinearJob) => job.numel * linearBytes(job.outDtype);

/** Whether two banks of inputs plus two outputs stay within (inputs + 2) × largest tensor × 4 bytes. */
export function fitsDoubleBuffering(jobs: readonly (FastLinearJob | undefined)[]): boolean {
  let raw = 0;
  let out = 0;
  let bound = 0;
  for (const job of jobs) {
    if (!job) continue;
    raw = Math.max(raw, rawBytesOf(job));
    out = Math.max(out, outBytesOf(job));
    bound = Math.max(bound, (job.sources.length + 2) * job.numel * 4);
  }
  return 2 * (raw + out) <= bound;
}

/** Computes and writes the tensors `computed` (indices into the plan) in order; `report` after each write. */
export async function writeTensorsInOrder(
  merge: PreparedCheckpointMerge,
  computed: readonly number[],
  config: MergeConfig,
  sink: TensorSink,
  report: (index: number) => void,
): Promise<void> {
  const jobs = computed.map((i) => merge.fastLinearJob(i, config));
  const double = fitsDoubleBuffering(jobs);
  let bank: 0 | 1 = 0;
  let prefetch: { pos: number; raw: Promise<RawTensor[]> } | undefined;
  // Writes run one after another (`chain`); `written[b]` settles when output buffer b is free again.
  let chain: Promise<void> = Promise.resolve();
  const written: Promise<void>[] = [chain, chain];
  try {
    for (let j = 0; j < computed.length; j++) {
      const index = computed[j]!;
      const job = jobs[j];
      if (!job) {
        await chain;
        const name = merge.tensors[index]!.name;
        await sink.add(name, await merge.computeTensor(index, config));
        report(index);
        continue;
      }
      const raw = prefetch?.pos === j ? await prefetch.raw : await merge.readRaw(job, bank);
      prefetch = undefined;
      const next = jobs[j + 1];
      if (double && next) {
        const other = bank === 0 ? 1 : 0;
        prefetch = { pos: j + 1, raw: merge.readRaw(next, other) };
        // Awaited at the next step (or in `finally`); this keeps an early error from going unhandled.
        prefetch.raw.catch(() => {});
      }
      const out = double ? ((j & 1) as 0 | 1) : 0;
      await written[out];
      const bytes = merge.runFastLinear(job, out, raw);
      chain = chain.then(async () => {
        await sink.addBytes(job.name, bytes);
        report(index);
      });
      written[out] = chain;
      if (prefetch) bank = bank === 0 ? 1 : 0;
    }
    await chain;
  } finally {
    // Nothing may still be reading or writing when the caller closes the inputs or aborts the sink.
    await prefetch?.raw.catch(() => {});
    await chain.catch(() => {});
  }
}
