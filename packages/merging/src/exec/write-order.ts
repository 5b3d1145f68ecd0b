// The single-thread write loop: tensor by tensor in output order. Fused linear tensors (fused-linear.ts)
// are pipelined in pieces: while one piece is computed, the next one's inputs are read and earlier
// results are written, with two banks of piece-sized buffers (so memory no longer grows with the
// largest tensor). With helper threads (threads > 1) each piece's computation is split with them.

import type { TensorSink } from "../io/types.js";
import type { FusedHelpers } from "./fused-helpers.js";
import type { FastLinearJob, RawTensor } from "./fused-linear.js";

/** What the write loop needs from the prepared merge. */
export interface OrderedMerge {
  /** The fused job of computed tensor `index` under the current parameters, when it takes that path. */
  fastLinearJob(index: number): FastLinearJob | undefined;
  readRaw(job: FastLinearJob, bank: 0 | 1, start: number, count: number): Promise<RawTensor[]>;
  outView(job: FastLinearJob, out: 0 | 1, count: number): Uint8Array;
  runFastLinear(job: FastLinearJob, out: 0 | 1, raw: readonly RawTensor[], count: number): Uint8Array;
  /** The general path's float32 values of tensor `index`. */
  computeTensor(index: number): Promise<Float32Array>;
  tensorName(index: number): string;
  /** Checks a fused piece for non-finite inputs (their output is non-finite too: only then are the inputs scanned). */
  checkFused(job: FastLinearJob, raw: readonly RawTensor[], out: Uint8Array): void;
}

/** Elements per piece: big tensors are streamed in pieces so reading one overlaps computing another. */
export const PIECE_ELEMENTS = 1 << 20;

/** One piece of work: elements [start, start + count) of a fused job, or a whole general-path tensor. */
export type Step = { job: FastLinearJob; start: number; count: number } | { index: number };

/** The steps of the computed tensors in output order (every fused tensor has at least one piece). */
export function stepsOf(
  computed: readonly number[],
  jobs: readonly (FastLinearJob | undefined)[],
  pieceElements = PIECE_ELEMENTS,
): Step[] {
  const steps: Step[] = [];
  computed.forEach((index, j) => {
    const job = jobs[j];
    if (!job) {
      steps.push({ index });
      return;
    }
    let start = 0;
    do {
      const count = Math.min(pieceElements, job.numel - start);
      steps.push({ job, start, count });
      start += count;
    } while (start < job.numel);
  });
  return steps;
}

/**
 * Computes and writes the tensors `computed` (indices into the plan) in order; `report` after each
 * tensor is written. Fused tensors go piece by piece through two banks of stored input bytes: the next
 * piece's reads (file reads run on libuv's thread pool) overlap the current piece's computation, and
 * each result piece is written while later ones are computed. Memory: 2 × (inputs + 1) × piece.
 */
export async function writeTensorsInOrder(
  merge: OrderedMerge,
  computed: readonly number[],
  sink: TensorSink,
  report: (index: number) => void,
  pieceElements = PIECE_ELEMENTS,
  helpers?: FusedHelpers,
): Promise<void> {
  const jobs = computed.map((i) => merge.fastLinearJob(i));
  const steps = stepsOf(computed, jobs, pieceElements);
  const read = (s: Step, bank: 0 | 1) =>
    "job" in s ? merge.readRaw(s.job, bank, s.start, s.count) : undefined;
  let bank: 0 | 1 = 0;
  let prefetch: Promise<RawTensor[]> | undefined;
  // Writes run one after another (`chain`); `written[b]` settles when output buffer b is free again.
  let chain: Promise<void> = Promise.resolve();
  const written: Promise<void>[] = [chain, chain];
  try {
    for (let j = 0; j < steps.length; j++) {
      const step = steps[j]!;
      if (!("job" in step)) {
        await chain;
        await sink.add(merge.tensorName(step.index), await merge.computeTensor(step.index));
        report(step.index);
        continue;
      }
      const raw = await (prefetch ?? read(step, bank)!);
      prefetch = undefined;
      const next = steps[j + 1];
      if (next && "job" in next) {
        bank = bank === 0 ? 1 : 0;
        prefetch = read(next, bank);
        // Awaited at the next step (or in `finally`); this keeps an early error from going unhandled.
        prefetch!.catch(() => {});
      }
      const out = (j & 1) as 0 | 1;
      await written[out];
      const { job, start, count } = step;
      let bytes: Uint8Array;
      if (helpers) {
        bytes = merge.outView(job, out, count);
        await helpers.run(raw, job.plan, job.computeDtype, job.outDtype, bytes, count);
      } else bytes = merge.runFastLinear(job, out, raw, count);
      merge.checkFused(job, raw, bytes);
      const last = start + count === job.numel;
      chain = chain.then(async () => {
        await sink.addBytesChunk(job.name, bytes);
        if (last) report(job.index);
      });
      written[out] = chain;
    }
    await chain;
  } finally {
    // Nothing may still be reading or writing when the caller closes the inputs or aborts the sink.
    await prefetch?.catch(() => {});
    await chain.catch(() => {});
  }
}
