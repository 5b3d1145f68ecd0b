// PCB streaming-global's fast path as a checkpoint-merge session (MergeMethod.fastGlobal): decides
// whether the stored-bytes kernels apply, and maps per-tensor parameters to their λ values.

import { availableParallelism } from "node:os";
import { mapLimited } from "../../async.js";
import { type FastGlobalContext, type FastGlobalSession, GENERAL_PATH_FALLBACK } from "../../method.js";
import type { ResolvedPcbOptions } from "../options.js";
import { type FastFormat, FastPcb, FastPcbUnsupported, fastPcbBytes } from "./fast-pcb.js";
import { MAX_TASKS } from "./kernels.js";
import { MAX_MEMORY_BYTES } from "./memory.js";

/**
 * The fast session when it applies: canonical inter term, every merged tensor stored as BF16 (or every
 * one as F16, or every one as F32), saved in that dtype or F32, no compute-dtype rounding that would change values, at most
 * 16 tasks, and memory (inputs, output, candidates) within `memoryBudget`. Else undefined.
 */
export function fastPcbSession(
  ctx: FastGlobalContext,
  o: ResolvedPcbOptions,
  lambda: number,
  memoryBudget: number,
  threads: number | undefined,
  mergeRange?: number,
): FastGlobalSession | undefined {
  if (o.inter !== "canonical" || ctx.numModels < 1 || ctx.numModels > MAX_TASKS || ctx.tensors.length === 0)
    return undefined;
  const general = GENERAL_PATH_FALLBACK;
  const format = ctx.inputDtype;
  const total = ctx.tensors.reduce((s, t) => s + t.numel, 0);
  const largest = Math.max(0, ...ctx.tensors.map((t) => t.numel));
  if (total === 0) return undefined;
  const need = fastPcbBytes(total, ctx.numModels, format, o.ratio, largest);
  if (need > memoryBudget) {
    const gb = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
    ctx.notice?.(
      need > MAX_MEMORY_BYTES
        ? `pcb fast path: needs ≈ ${gb(need)}, more than the 4 GiB a WebAssembly memory holds; ${general}`
        : `pcb fast path: needs ≈ ${gb(need)}, memory_budget is ${gb(memoryBudget)}; ${general} (raise memory_budget to at least ${Math.ceil(need / 1e6) * 1e6} to use it)`,
    );
    return undefined;
  }
  let fast: FastPcb;
  try {
    fast = new FastPcb({
      tensors: ctx.tensors,
      numTasks: ctx.numModels,
      format,
      options: o,
      threads: threads ?? availableParallelism(),
      mergeRange,
    });
  } catch (e) {
    if (e instanceof FastPcbUnsupported) {
      ctx.notice?.(`${e.message}; ${general}`);
      return undefined;
    }
    throw e;
  }
  return {
    label: "pcb streaming-global",
    threads: fast.threadCount,
    prepare: async () => {
      await loadInputs(ctx, fast);
      await fast.computeStats();
      const last = ctx.tensors.length - 1;
      ctx.onProgress?.({
        label: "pcb streaming-global: statistics",
        tensor: last,
        tensorsDone: ctx.tensors.length,
        bytesDone: 1,
        bytesTotal: 1,
      });
    },
    beginMerge: (perTensor, outDtype) =>
      fast.beginMerge(
        perTensor.map((t) => ({
          lambda,
          weights: t.modelParams.map((m) => m.weight as number),
        })),
        outDtype as FastFormat,
      ),
    mergeTensors: (from, to) => fast.mergeTensors(from, to),
    get rangeElements() {
      return fast.rangeElements;
    },
    outputView: (index) => fast.outputView(index),
    close: () => fast.close(),
  };
}

/** Every merged tensor's stored bytes of every input read into the fast path's memory. */
async function loadInputs(ctx: FastGlobalContext, fast: FastPcb): Promise<void> {
  const slots = ctx.numModels + 1;
  const jobs = ctx.tensors.flatMap((_, j) => Array.from({ length: slots }, (_, slot) => ({ slot, j })));
  const bytesTotal = jobs.reduce((s, job) => s + fast.inputView(job.slot, job.j).byteLength, 0);
  let bytesDone = 0;
  let tensorsDone = 0;
  const left = new Map<number, number>();
  await mapLimited(jobs, ctx.readConcurrency, async ({ slot, j }) => {
    const view = fast.inputView(slot, j);
    await ctx.readRange(slot, j, 0, view);
    fast.inputRead(slot, j);
    bytesDone += view.byteLength;
    const l = (left.get(j) ?? slots) - 1;
    left.set(j, l);
    if (l === 0) tensorsDone++;
    ctx.onProgress?.({
      label: "pcb streaming-global: read stored inputs",
      tensor: j,
      tensorsDone,
      bytesDone,
      bytesTotal,
    });
  });
}
