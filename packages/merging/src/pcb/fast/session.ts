// PCB streaming-global's fast path as a checkpoint-merge session (the method's "stored-global" fast
// path): decides whether the stored-bytes kernels apply within `memory_budget`, reads through the
// executor's ranged reads, and maps per-tensor parameters to their λ values.

import { availableParallelism } from "node:os";
import {
  type FastGlobalContext,
  FastGlobalNonFinite,
  type FastGlobalSession,
  GENERAL_PATH_FALLBACK,
} from "../../method.js";
import type { ResolvedPcbOptions } from "../options.js";
import { type FastFormat, FastPcb, FastPcbNonFinite, FastPcbUnsupported } from "./fast-pcb.js";
import { MAX_TASKS } from "./kernels.js";
import { DEFAULT_WINDOW, fastPcbBytes, MERGE_RANGE_ELEMENTS, minimumFastPcbBytes } from "./layout.js";
import type { FastMerge } from "./merge.js";

const gb = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);

/**
 * The fast session when it applies: canonical inter term, at most 16 tasks, and `memoryBudget` at
 * least the smallest working set. A model of at most `window` positions is held resident (read once);
 * a larger one is streamed in windows re-read by every pass. With `window` 0, what fits the budget is
 * resident (several WebAssembly memories when needed) and only the rest streamed. Else undefined
 * (with a notice).
 */
export function fastPcbSession(
  ctx: FastGlobalContext,
  o: ResolvedPcbOptions,
  lambda: number,
  memoryBudget: number,
  threads: number | undefined,
  mergeRange = MERGE_RANGE_ELEMENTS,
  window = DEFAULT_WINDOW,
): FastGlobalSession | undefined {
  if (o.inter !== "canonical" || ctx.numModels < 1 || ctx.numModels > MAX_TASKS || ctx.tensors.length === 0)
    return undefined;
  const format = ctx.inputDtype;
  const total = ctx.tensors.reduce((s, t) => s + t.numel, 0);
  if (total === 0) return undefined;
  const range = Math.min(mergeRange, total);
  const all = fastPcbBytes(total, ctx.numModels, format, o.ratio, 0, range);
  const least = Math.min(all, minimumFastPcbBytes(ctx.numModels, format, o.ratio, range));
  if (least > memoryBudget) {
    ctx.notice?.(
      `pcb fast path: needs ≈ ${gb(least)}, memory_budget is ${gb(memoryBudget)}; ${GENERAL_PATH_FALLBACK} (raise memory_budget to at least ${Math.ceil(least / 1e6) * 1e6} to use it)`,
    );
    return undefined;
  }
  if (window === 0 && all > memoryBudget) {
    ctx.notice?.(
      `pcb fast path: the model needs ≈ ${gb(all)} to be read once, memory_budget is ${gb(memoryBudget)}; the part that does not fit is read again by each pass (raise memory_budget to at least ${Math.ceil(all / 1e6) * 1e6} to read it once)`,
    );
  }
  let fast: FastPcb;
  try {
    fast = new FastPcb({
      tensors: ctx.tensors,
      numTasks: ctx.numModels,
      format,
      options: o,
      threads: threads ?? availableParallelism(),
      memoryBudget,
      mergeRange,
      windowElements: window > 0 ? window : undefined,
    });
  } catch (e) {
    if (e instanceof FastPcbUnsupported) {
      ctx.notice?.(`${e.message}; ${GENERAL_PATH_FALLBACK}`);
      return undefined;
    }
    throw e;
  }
  let merge: FastMerge | undefined;
  return {
    label: "pcb streaming-global",
    threads: fast.threadCount,
    prepare: async () => {
      await fast.load(ctx.readRange, ctx.readConcurrency, (p) =>
        ctx.onProgress?.({ label: "pcb streaming-global: read stored inputs", ...p }),
      );
      try {
        await fast.computeStats();
      } catch (e) {
        if (e instanceof FastPcbNonFinite) throw new FastGlobalNonFinite(e.message, e.found);
        throw e;
      }
      const last = ctx.tensors.length - 1;
      ctx.onProgress?.({
        label: "pcb streaming-global: statistics",
        tensor: last,
        tensorsDone: ctx.tensors.length,
        bytesDone: 1,
        bytesTotal: 1,
      });
    },
    beginMerge: (perTensor, outDtype) => {
      merge = fast.beginMerge(
        perTensor.map((t) => ({ lambda, weights: t.modelParams.map((m) => m.weight as number) })),
        outDtype as FastFormat,
      );
    },
    mergeNext: () => {
      if (!merge) throw new FastPcbUnsupported("pcb fast path: mergeNext before beginMerge");
      return merge.next();
    },
    close: () => fast.close(),
  };
}

/** The type of `fastPcbSession` (installed into the `pcb` method by `methods/pcb-node.ts`). */
export type FastPcbSession = typeof fastPcbSession;
