// The `pcb` merge method: PCB-Merging as the reference code computes it, in three modes.
// - streaming-global (default): the whole-model statistics from passes over the tensors, identical to
//   reference mode: the WebAssembly fast path over the stored bytes when it applies, else the general
//   path with its per-task store (n × D float32) in memory up to `memory_budget`, else in a temp file.
// - reference: whole model flattened in sorted key order, statistics per task row over all D
//   parameters, in memory (≈ 2·n·D float32 + D); kept for checking.
// - per-tensor: each tensor is its own "model" (what mergekit forks do) — a different semantics.
// Per-model `weight` = λ_i inside the weighted average (numerator only); global `lambda` = outer λ.
//
// This module runs in a browser (it is on `@x/merging/browser`'s import graph): the streaming-global
// sessions (threads, spill files, the machine's memory size) are Node-only and are installed by
// `pcb-node.ts`, which the package entry loads. Without them (in a browser) streaming-global computes
// through the reference session: the same output, in memory (≈ 2·n·D float32).

import type {
  GlobalMergeContext,
  GlobalMergeSession,
  MergeMethod,
  ParamMap,
  TensorMergeInput,
} from "../method.js";
import { MergeMethodError } from "../method.js";
import { MAX_TASKS } from "../pcb/fast/kernels.js";
import { DEFAULT_WINDOW } from "../pcb/fast/layout.js";
import type { FastPcbSession } from "../pcb/fast/session.js";
import {
  type NanGuard,
  PCB_DEFAULTS,
  type PcbInter,
  type ResolvedPcbOptions,
  resolvePcbOptions,
} from "../pcb/options.js";
import { pcbMergeRows } from "../pcb/per-tensor.js";
import { type PcbPrepared, pcbPrepare } from "../pcb/reference.js";
import { deltaRows } from "../pcb/score.js";
import type { StreamingPcbSession } from "../pcb/streaming.js";
import { bool, checkInput, num, perModel, str } from "./common.js";
import { collectTaskMatrix } from "./task-matrix.js";

export type PcbMode = "reference" | "streaming-global" | "per-tensor";

/** The Node-only sessions of streaming-global and its fast path (see `pcb-node.ts`). */
export interface PcbNodeSessions {
  /** Default of `memory_budget` on this machine. */
  readonly memoryBudget: number;
  readonly streaming: StreamingPcbSession;
  readonly fast: FastPcbSession;
}

let nodeSessions: PcbNodeSessions | undefined;

/** Installs the Node-only sessions (done once by `pcb-node.ts` when the package entry loads). */
export function installPcbNodeSessions(sessions: PcbNodeSessions): void {
  nodeSessions = sessions;
}

/** `memory_budget` default without the Node sessions (it only bounds the streaming paths). */
const FALLBACK_MEMORY_BUDGET = 2 ** 30;

function optionsOf(params: ParamMap): ResolvedPcbOptions {
  return resolvePcbOptions({
    ratio: num(params, "ratio"),
    clampQuantile: num(params, "clamp_quantile"),
    inter: str(params, "inter") as PcbInter,
    nanGuard: str(params, "nan_guard") as NanGuard,
  });
}

function addScaled(base: Float32Array, lambda: number, tau: Float32Array): Float32Array {
  const out = new Float32Array(base.length);
  for (let k = 0; k < base.length; k++) out[k] = base[k] + Math.fround(lambda * tau[k]);
  return out;
}

function referenceSession(
  ctx: GlobalMergeContext,
  o: ResolvedPcbOptions,
  lambda: number,
): GlobalMergeSession {
  let prepared: PcbPrepared | undefined;
  let rangeOf: ((name: string) => [number, number]) | undefined;
  const pass = collectTaskMatrix(ctx, "pcb reference", (m) => {
    prepared = pcbPrepare(m.rows, o);
    rangeOf = m.rangeOf;
    m.rows.length = 0; // release the task matrix; only the prepared weights are needed now
  });
  return {
    passes: [pass],
    mergeTensor(input: TensorMergeInput): Float32Array {
      if (!prepared || !rangeOf)
        throw new MergeMethodError("pcb reference: mergeTensor before the collect pass");
      const [start, end] = rangeOf(input.name);
      const base = input.base;
      if (!base || base.length !== end - start) {
        throw new MergeMethodError(`pcb reference: tensor '${input.name}' base missing or of the wrong size`);
      }
      const tau = prepared.combine(perModel(input.modelParams, "weight"), start, end);
      return addScaled(base, lambda, tau);
    },
  };
}

export const pcb: MergeMethod = {
  name: "pcb",
  description:
    "PCB-Merging (Du et al. 2024) as the official code computes it: magnitude clamp, intra × inter balance scores, drop/rescale, weighted merge",
  base: "required",
  minModels: 1,
  randomized: false,
  params: [
    {
      name: "weight",
      scope: "model",
      type: "number",
      default: 1,
      description: "Per-task λ_i inside the weighted average (numerator only, as in the vision/ES scripts).",
    },
    {
      name: "lambda",
      scope: "global",
      type: "number",
      default: 1,
      description: "Outer λ: θ₀ + λ·τ_m (grid mode).",
    },
    {
      name: "mode",
      scope: "global",
      type: "string",
      default: "streaming-global",
      choices: ["reference", "streaming-global", "per-tensor"],
      description:
        "Statistics over the whole flattened model, streamed (default; the fast path when it applies) or in memory (reference, for checking), or per tensor (a different semantics).",
    },
    {
      name: "ratio",
      scope: "global",
      type: "number",
      default: PCB_DEFAULTS.ratio,
      min: Number.MIN_VALUE,
      max: 1,
      description: "r: fraction of entries kept per task (kept count is D − 1 − ⌊D(1−r)⌋).",
    },
    {
      name: "clamp_quantile",
      scope: "global",
      type: "number",
      default: PCB_DEFAULTS.clampQuantile,
      min: 0,
      max: 0.4999999,
      description: "q: |τ| is clamped to its per-task [s[⌊Dq⌋], s[⌊D(1−q)−1⌋]] order statistics.",
    },
    {
      name: "inter",
      scope: "global",
      type: "string",
      default: "canonical",
      choices: ["canonical", "vision", "pairwise"],
      description: "Inter-score variant: canonical (NLP code), vision (pcb.py), pairwise (pcb_ES.py).",
    },
    {
      name: "memory_budget",
      scope: "global",
      type: "number",
      get default() {
        return nodeSessions?.memoryBudget ?? FALLBACK_MEMORY_BUDGET;
      },
      min: 0,
      description:
        "streaming-global: bytes the fast path, or the general path's per-task store (n × D float32: task vectors, then balance scores), may take in memory. The fast path reads a model that fits once; beyond the budget it keeps what fits and re-reads the rest in every pass; the store spills to a self-deleting temp file. Default: a quarter of the machine's memory, at least 1 GiB.",
    },
    {
      name: "spill_dir",
      scope: "global",
      type: "string",
      default: "",
      description: "streaming-global: directory of the spill file (empty: the OS temp directory).",
    },
    {
      name: "threads",
      scope: "global",
      type: "number",
      default: 0,
      min: 0,
      max: 256,
      description:
        "streaming-global: threads of the fast path's passes, or of the general path's store-only passes with the store in memory; 0 = the merge's `threads` option (x merge --threads) when given, else os.availableParallelism() (needs the built package; same output for any count).",
    },
    {
      name: "fast_path",
      scope: "global",
      type: "boolean",
      default: true,
      description:
        "streaming-global: use the WebAssembly SIMD path over the stored bytes when it applies (inputs all BF16, all F16 or all F32, canonical inter, at most 16 tasks); same output. false: always the general path.",
    },
    {
      name: "fast_window",
      scope: "global",
      type: "number",
      default: DEFAULT_WINDOW,
      min: 0,
      description:
        "streaming-global fast path: positions held in memory at once; a model with more is streamed in windows of this many, every pass re-reading them (from the page cache after the first). 0: hold the whole model in memory when memory_budget allows (read once; first touches of that much shared WebAssembly memory are slow on some machines).",
    },
    {
      name: "fast_range",
      scope: "global",
      type: "number",
      default: 2 ** 22,
      min: 1,
      description:
        "streaming-global fast path: elements per merge step; two output buffers of this size alternate while steps are written.",
    },
    {
      name: "nan_guard",
      scope: "global",
      type: "string",
      default: PCB_DEFAULTS.nanGuard,
      choices: ["off", "error", "on"],
      description:
        "Constant rows: 'off' reproduces the reference NaN, 'error' throws, 'on' applies the documented fix.",
    },
  ],
  scopeOf(params) {
    return params.mode === "per-tensor" ? "tensor" : "global";
  },
  mergeTensor(input) {
    if (input.params.mode !== "per-tensor") {
      throw new MergeMethodError(
        `pcb: mode '${String(input.params.mode)}' is global-scope; drive it with beginGlobal`,
      );
    }
    checkInput(pcb, input);
    const base = input.base as Float32Array;
    let tau: Float32Array;
    try {
      tau = pcbMergeRows(
        deltaRows(base, input.models),
        perModel(input.modelParams, "weight"),
        optionsOf(input.params),
      );
    } catch (e) {
      if (e instanceof MergeMethodError) e.message = `tensor '${input.name}': ${e.message}`;
      throw e;
    }
    return addScaled(base, num(input.params, "lambda"), tau);
  },
  beginGlobal(ctx) {
    const o = optionsOf(ctx.params);
    const lambda = num(ctx.params, "lambda");
    const mode = str(ctx.params, "mode") as PcbMode;
    if (mode === "reference") return referenceSession(ctx, o, lambda);
    if (mode === "streaming-global") {
      if (!nodeSessions) return referenceSession(ctx, o, lambda);
      return nodeSessions.streaming(ctx, o, lambda, "pcb streaming-global", {
        memoryBudget: num(ctx.params, "memory_budget"),
        spillDir: str(ctx.params, "spill_dir") || undefined,
        // 0: the merge's `threads` when given, else the session's default (all cores)
        threads: num(ctx.params, "threads") || ctx.threads,
      });
    }
    throw new MergeMethodError("pcb: mode 'per-tensor' is tensor-scope; call mergeTensor per tensor");
  },
  fastPaths: [
    {
      kind: "stored-global",
      scope: "global",
      dtypes: ["BF16", "F16", "F32"],
      uniformDtype: true,
      maxModels: MAX_TASKS,
      applies: (params) =>
        nodeSessions !== undefined &&
        str(params, "mode") === "streaming-global" &&
        bool(params, "fast_path") &&
        str(params, "inter") === "canonical",
      begin: (ctx) =>
        nodeSessions?.fast(
          ctx,
          optionsOf(ctx.params),
          num(ctx.params, "lambda"),
          num(ctx.params, "memory_budget"),
          num(ctx.params, "threads") || ctx.threads,
          num(ctx.params, "fast_range"),
          num(ctx.params, "fast_window"),
        ),
    },
  ],
  validate(params) {
    optionsOf(params);
  },
};
