// mergeCheckpoints: the streaming merge of checkpoints on disk. One output tensor at a time: read that
// tensor from each input (cast to the compute dtype), merge, round, hand to the sharded writer. Peak
// memory ≈ (inputs + 2) × largest tensor (the sharded writer writes each tensor at its offset, no shard buffer). Global-scope methods (PCB
// reference / streaming-global) first get their statistics passes over the same lazily read tensors.

import { rm } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { type DType, elementSize } from "@x/tensor-core";
import {
  countLayers,
  evaluateSetting,
  layerPosition,
  type MergeConfig,
  mergeConfigHash,
  type ParameterMap,
  type ParameterSetting,
  parseByteSize,
  type ScalarSetting,
} from "../config/index.js";
import { castToComputeDType } from "../io/cast.js";
import { commitOutputDir, prepareOutputDir } from "../io/output-dir.js";
import { createShardedSink, encodeFloat32 } from "../io/sink.js";
import { openModel } from "../io/source.js";
import { copyTagalongFiles, writeMergeMetadataFiles } from "../io/tagalong.js";
import type { TensorSource } from "../io/types.js";
// Importing the built-in methods registers them, so `merge_method` names resolve without the package index.
import "../methods/index.js";
import {
  type FastGlobalSession,
  FastGlobalUnsupported,
  GENERAL_PATH_FALLBACK,
  type GlobalMergeSession,
  getMethod,
  type MergeMethod,
  type ParamMap,
  resolveParams,
  tensorRng,
} from "../method.js";
import { denseLinearPlan } from "../methods/gta.js";
import { extractBlock, insertBlock } from "./blocks.js";
import { ByteBuffers, ReadBuffers } from "./buffers.js";
import { MergeInputError } from "./errors.js";
import type { MergeProgressEvent } from "./events.js";
import { type FastLinearJob, PIECE_ELEMENTS, writeTensorsInOrder } from "./fast-write.js";
import { FusedHelpers, findFusedHelper } from "./fused-helpers.js";
import {
  fusedLinearMerge,
  isLinearDType,
  type LinearDType,
  linearBytes,
  type RawTensor,
} from "./linear-fast.js";
import { type MergeWarning, type PlannedTensor, planMerge } from "./plan.js";
import { findMergeWorker, runWorkers } from "./workers.js";

/** Options fixed when a merge is prepared (inputs opened, tensors planned, global passes run). */
export interface PrepareMergeOptions {
  /** Seed for randomized methods (DARE, DELLA); default 0. */
  seed?: number;
  /** Turn skipped tensors / models (missing, shape mismatch) into errors. */
  strict?: boolean;
  /** Relative model paths are resolved against this directory (default: the working directory). */
  baseDir?: string;
  /** Input tensors read in parallel per output tensor (default 4; 1 = one after another). */
  readConcurrency?: number;
  /**
   * Worker threads for the final merge of tensor-scope methods (default 1 = this thread); global-scope
   * methods may take it as their default too (PCB streaming-global, unless its `threads` parameter is set). Each worker
   * opens the inputs itself and merges whole tensors, so peak memory grows to about threads ×
   * (inputs + 2) × largest tensor. Needs the built package (dist/pipeline/merge-worker.js); global-scope
   * methods and custom `method` objects always run on this thread. Merges that fully take the fused
   * dense-linear path (task_arithmetic and friends, see linear-fast.ts) stream on this thread and
   * split each piece's computation with threads − 1 helper threads instead (no extra memory).
   */
  threads?: number;
  /**
   * Elements per piece of the fused dense-linear path (default 1 Mi): its memory is about
   * 2 × (inputs + 1) pieces; smaller pieces overlap reading and computing more finely.
   */
  pieceElements?: number;
  /** Use this method object instead of looking `merge_method` up in the registry. */
  method?: MergeMethod;
  onProgress?: (event: MergeProgressEvent) => void;
  onWarning?: (warning: MergeWarning) => void;
  /** Information that is not about the inputs, e.g. why a method's fast path was not taken. */
  onNotice?: (message: string) => void;
}

/** Options of one output write. */
export interface WriteMergeOptions {
  /** Maximum output shard size in bytes (number or "5GB" / "500MB" / "1e9"); default 5 GB. */
  outShardSize?: number | string;
  /** Replace an existing non-empty output directory. */
  overwrite?: boolean;
  /** Copy tokenizer and other tagalong files from the donor model (default true). */
  copyTokenizer?: boolean;
  /** Write README.md (model card) and mergekit_config.yml (default true). */
  writeModelCard?: boolean;
  /**
   * Replacement per-model `parameters` (aligned with `config.models`), e.g. candidate λ_i in a
   * coefficient search. Global-scope statistics were computed at prepare time, so only parameters the
   * method reads per tensor (such as PCB's `weight` = λ_i) may change here.
   */
  modelParameters?: readonly ParameterMap[];
  onProgress?: (event: MergeProgressEvent) => void;
}

export interface MergeCheckpointsOptions extends PrepareMergeOptions, WriteMergeOptions {
  onProgress?: (event: MergeProgressEvent) => void;
}

export interface MergeCheckpointsResult {
  readonly outDir: string;
  readonly method: string;
  readonly scope: "tensor" | "global";
  readonly tensorsMerged: number;
  readonly tensorsCopied: number;
  /** Bytes of tensor data written. */
  readonly outputBytes: number;
  readonly warnings: readonly MergeWarning[];
  readonly configHash: string;
  /** Threads that ran the final merge. */
  readonly threads: number;
  readonly seconds: number;
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8 };
const storedBytes = (dt: string) => DTYPE_BYTES[dt] ?? elementSize(dt as DType);
const isFloat = (dt: string) => dt in DTYPE_BYTES && dt !== "I64";

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Maps with at most `limit` calls in flight; results keep the input order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Evaluates every setting of a parameter map for one tensor (unmatched filters drop out). */
function evaluateAll(
  params: Record<string, ParameterSetting>,
  tensorName: string,
  t: number,
): Record<string, ScalarSetting> {
  const out: Record<string, ScalarSetting> = {};
  for (const [k, setting] of Object.entries(params)) {
    const v = evaluateSetting(setting, tensorName, t);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

interface Inputs {
  reference: TensorSource;
  base?: TensorSource;
  models: TensorSource[];
  /** config.models index of each merge model (for per-model parameters). */
  configIndex: number[];
  all: TensorSource[];
}

async function openInputs(config: MergeConfig, method: MergeMethod, baseDir?: string): Promise<Inputs> {
  const cache = new Map<string, Promise<TensorSource>>();
  const open = (ref: string) => {
    let p = cache.get(ref);
    if (!p) {
      p = openModel(ref, baseDir);
      cache.set(ref, p);
    }
    return p;
  };
  try {
    const usesBase = method.base !== "none";
    if (method.base === "required" && config.baseModel === undefined) {
      throw new MergeInputError(`merge method '${method.name}' needs 'base_model'`);
    }
    const base = usesBase && config.baseModel !== undefined ? await open(config.baseModel) : undefined;
    const models: TensorSource[] = [];
    const configIndex: number[] = [];
    for (let i = 0; i < config.models.length; i++) {
      const ref = config.models[i]!.model;
      // mergekit skips the base when it is also listed among the models.
      if (usesBase && ref === config.baseModel) continue;
      models.push(await open(ref));
      configIndex.push(i);
    }
    const reference = config.baseModel !== undefined ? await open(config.baseModel) : models[0]!;
    if (!reference) throw new MergeInputError("no input models");
    return { reference, base, models, configIndex, all: await Promise.all(cache.values()) };
  } catch (err) {
    for (const p of cache.values()) await p.then((s) => s.close()).catch(() => {});
    throw err;
  }
}

/**
 * A merge with its inputs open, its tensors planned and (for global-scope methods) its statistics
 * passes done. `write` produces an output directory; it can be called repeatedly (coefficient search:
 * each candidate only redoes the final per-tensor merge). Call `close` when done.
 */
export class PreparedCheckpointMerge {
  readonly scope: "tensor" | "global";
  private readonly buffers = new ReadBuffers();
  /** Stored-bytes buffers of the fused linear path: two banks (current tensor, prefetched next) + outputs. */
  private readonly rawBanks = [new ByteBuffers(), new ByteBuffers()] as const;
  private readonly outBuffers = new ByteBuffers();
  /** The same in SharedArrayBuffers, used while helper threads share the work. */
  private readonly sharedRawBanks = [new ByteBuffers(true), new ByteBuffers(true)] as const;
  private readonly sharedOutBuffers = new ByteBuffers(true);
  private useSharedBuffers = false;
  /** The method's stored-bytes fast path, when it took the global statistics (see `tryFastGlobal`). */
  private fast?: { session: FastGlobalSession; index: Map<number, number>; order: number[] };
  private readonly numLayers: number;
  private readonly readConcurrency: number;

  private constructor(
    readonly config: MergeConfig,
    readonly method: MergeMethod,
    private readonly inputs: Inputs,
    readonly tensors: readonly PlannedTensor[],
    readonly warnings: readonly MergeWarning[],
    private readonly whole: { params: ParamMap; modelParams: ParamMap[] },
    private readonly options: PrepareMergeOptions,
    private session?: GlobalMergeSession,
  ) {
    this.scope = method.scopeOf(whole.params);
    this.numLayers = countLayers(inputs.reference.names());
    this.readConcurrency = Math.max(1, Math.floor(options.readConcurrency ?? 4));
  }

  /** Opens the inputs, validates parameters, plans every tensor and runs global statistics passes. */
  static async prepare(
    config: MergeConfig,
    options: PrepareMergeOptions = {},
  ): Promise<PreparedCheckpointMerge> {
    const method = options.method ?? getMethod(config.mergeMethod);
    const inputs = await openInputs(config, method, options.baseDir);
    try {
      // Whole-model parameters: validates names/types/required ones before any work.
      const wholeGlobal = evaluateAll(config.parameters, "", 0);
      const wholeModels = inputs.configIndex.map((ci) => evaluateAll(config.models[ci]!.parameters, "", 0));
      const whole = resolveParams(method, wholeGlobal, wholeModels);
      const scope = method.scopeOf(whole.params);
      const { tensors, warnings } = planMerge({
        reference: inputs.reference,
        base: inputs.base,
        models: inputs.models,
        minModels: method.minModels,
        strict: options.strict ?? false,
      });
      // Global statistics need every model's copy of a tensor; others are kept from the base.
      if (scope === "global") {
        for (let i = 0; i < tensors.length; i++) {
          const p = tensors[i]!;
          if (p.kind === "merge" && p.models.length !== inputs.models.length) {
            const w: MergeWarning = {
              kind: "copied",
              tensor: p.name,
              message: `tensor '${p.name}' is not present with a compatible shape in every model; a global-scope merge keeps the base tensor`,
            };
            if (options.strict) throw new MergeInputError(`${w.message} (--strict)`);
            warnings.push(w);
            tensors[i] = { ...p, kind: "copy", models: [] };
          }
        }
      }
      for (const w of warnings) options.onWarning?.(w);
      const prepared = new PreparedCheckpointMerge(config, method, inputs, tensors, warnings, whole, options);
      if (scope === "global") {
        try {
          if (!(await prepared.tryFastGlobal())) await prepared.runPasses();
        } catch (err) {
          prepared.session?.close?.();
          throw err;
        }
      }
      return prepared;
    } catch (err) {
      for (const s of inputs.all) await s.close().catch(() => {});
      throw err;
    }
  }

  /** Indices into `config.models` of the models being merged (the base excluded when the method uses one). */
  get mergeModelIndices(): readonly number[] {
    return this.inputs.configIndex;
  }

  private get seed(): number {
    return this.options.seed ?? 0;
  }

  private mergedShape(p: PlannedTensor): readonly number[] {
    return p.block ? [p.block.rows, p.block.cols] : p.shape;
  }

  /** The saved dtype of a planned tensor: out_dtype, else dtype, else its stored dtype (non-floats stay). */
  outDtypeOf(p: PlannedTensor): string {
    return isFloat(p.storedDtype)
      ? (this.config.outDtype ?? this.config.dtype ?? p.storedDtype)
      : p.storedDtype;
  }

  /** Reads one input tensor into read slot `slot` (0 = base/reference, 1 + i = merge model i). */
  private async readInput(src: TensorSource, name: string, slot: number): Promise<Float32Array> {
    const data = await src.readFloat32(name, this.buffers.view(slot, numel(src.info(name)!.shape)));
    if (this.config.dtype) castToComputeDType(data, this.config.dtype);
    return data;
  }

  /** Reads the inputs of one planned merge tensor, cut to the common block when there is one. */
  private async readInputs(p: PlannedTensor) {
    const { inputs } = this;
    const cut = (a: Float32Array, src: TensorSource) =>
      p.block ? extractBlock(a, src.info(p.name)!.shape[1]!, p.block.rows, p.block.cols) : a;
    const withBase = inputs.base !== undefined && this.method.base !== "none";
    const slots = withBase ? [-1, ...p.models] : [...p.models];
    const read = await mapLimited(slots, this.readConcurrency, (mi) =>
      mi < 0 ? this.readInput(inputs.base!, p.name, 0) : this.readInput(inputs.models[mi]!, p.name, 1 + mi),
    );
    const baseFull = withBase ? read[0] : undefined;
    const base = baseFull ? cut(baseFull, inputs.base!) : undefined;
    const models = p.models.map((mi, j) => cut(read[j + (withBase ? 1 : 0)]!, inputs.models[mi]!));
    return { base, baseFull, models };
  }

  /**
   * The method's stored-bytes fast path of the global statistics (MergeMethod.fastGlobal), when it
   * applies: every merged tensor read once as stored into the session's memory, then its `prepare`.
   * Returns false (nothing kept) when there is none or it declines these inputs.
   */
  private async tryFastGlobal(): Promise<boolean> {
    const { method, inputs, options } = this;
    const base = inputs.base;
    if (!method.fastGlobal || !base || method.base === "none") return false;
    const order = this.tensors.flatMap((p, i) => (p.kind === "merge" ? [i] : []));
    const n = inputs.models.length;
    const inputDtypes = new Set<string>();
    const outDtypes = new Set<string>();
    for (const i of order) {
      const p = this.tensors[i]!;
      if (p.block || p.models.length !== n || p.models.some((mi, j) => mi !== j)) return false;
      inputDtypes.add(base.info(p.name)!.dtype);
      for (const m of inputs.models) inputDtypes.add(m.info(p.name)!.dtype);
      outDtypes.add(this.outDtypeOf(p));
    }
    const session = method.fastGlobal({
      tensors: order.map((i) => ({ name: this.tensors[i]!.name, numel: numel(this.tensors[i]!.shape) })),
      numModels: n,
      params: this.whole.params,
      modelParams: this.whole.modelParams,
      inputDtypes,
      outDtypes,
      computeDtype: this.config.dtype,
      threads: options.threads,
      notice: options.onNotice,
    });
    if (!session) return false;
    try {
      const jobs = order.flatMap((i, j) =>
        [base, ...inputs.models].map((src, slot) => ({ src, slot, j, i })),
      );
      const bytesOf = (job: (typeof jobs)[number]) => session.inputView(job.slot, job.j).byteLength;
      const bytesTotal = jobs.reduce((s, job) => s + bytesOf(job), 0);
      let bytesDone = 0;
      let tensorsDone = 0;
      const perTensor = new Map<number, number>();
      await mapLimited(jobs, this.readConcurrency, async (job) => {
        const name = this.tensors[job.i]!.name;
        await job.src.readBytesInto(name, session.inputView(job.slot, job.j));
        session.inputRead?.(job.slot, job.j);
        bytesDone += bytesOf(job);
        const left = (perTensor.get(job.i) ?? n + 1) - 1;
        perTensor.set(job.i, left);
        if (left === 0) tensorsDone++;
        options.onProgress?.({
          phase: "pass",
          label: `${session.label}: read stored inputs`,
          phaseIndex: 1,
          phaseCount: 2,
          tensor: name,
          tensorsDone,
          tensorsTotal: order.length,
          bytesDone,
          bytesTotal,
        });
      });
      await session.prepare();
      options.onProgress?.({
        phase: "pass",
        label: `${session.label}: statistics`,
        phaseIndex: 1,
        phaseCount: 2,
        tensor: this.tensors[order[order.length - 1]!]?.name ?? "",
        tensorsDone: order.length,
        tensorsTotal: order.length,
        bytesDone: bytesTotal,
        bytesTotal,
      });
      this.fast = { session, index: new Map(order.map((i, j) => [i, j])), order };
      return true;
    } catch (err) {
      await session.close();
      if (err instanceof FastGlobalUnsupported) {
        options.onNotice?.(`${err.message}: ${GENERAL_PATH_FALLBACK}`);
        return false;
      }
      throw err;
    }
  }

  private async runPasses(): Promise<void> {
    const { inputs, options } = this;
    const merging = this.tensors.filter((p) => p.kind === "merge");
    const session = this.method.beginGlobal!({
      tensors: merging.map((p) => ({ name: p.name, shape: this.mergedShape(p) })),
      numModels: inputs.models.length,
      modelParams: this.whole.modelParams,
      params: this.whole.params,
      seed: this.seed,
      threads: options.threads,
    });
    this.session = session;
    const bytesOf = (p: PlannedTensor) =>
      (p.models.length + (inputs.base ? 1 : 0)) * numel(this.mergedShape(p)) * 4;
    const passBytes = merging.reduce((s, p) => s + bytesOf(p), 0);
    const phaseCount = session.passes.length + 1;
    for (let pi = 0; pi < session.passes.length; pi++) {
      const pass = session.passes[pi]!;
      let bytes = 0;
      if (pass.readsTensors === false) {
        // Works on what the session kept from earlier passes: no tensors to read.
        pass.finish();
        options.onProgress?.({
          phase: "pass",
          label: pass.label,
          phaseIndex: pi + 1,
          phaseCount,
          tensor: merging[merging.length - 1]?.name ?? "",
          tensorsDone: merging.length,
          tensorsTotal: merging.length,
          bytesDone: passBytes,
          bytesTotal: passBytes,
        });
        continue;
      }
      for (let i = 0; i < merging.length; i++) {
        const p = merging[i]!;
        const { base, models } = await this.readInputs(p);
        pass.visit({ name: p.name, shape: this.mergedShape(p), base, models });
        bytes += bytesOf(p);
        options.onProgress?.({
          phase: "pass",
          label: pass.label,
          phaseIndex: pi + 1,
          phaseCount,
          tensor: p.name,
          tensorsDone: i + 1,
          tensorsTotal: merging.length,
          bytesDone: bytes,
          bytesTotal: passBytes,
        });
      }
      pass.finish();
    }
  }

  /** The config with replaced per-model parameters (see `WriteMergeOptions.modelParameters`). */
  withModelParameters(modelParameters?: readonly ParameterMap[]): MergeConfig {
    const config = this.config;
    if (!modelParameters) return config;
    if (modelParameters.length !== config.models.length) {
      throw new MergeInputError(
        `modelParameters has ${modelParameters.length} entries for ${config.models.length} models`,
      );
    }
    return { ...config, models: config.models.map((m, i) => ({ ...m, parameters: modelParameters[i]! })) };
  }

  private get threads(): number {
    return Math.max(1, Math.floor(this.options.threads ?? 1));
  }

  /** The merge-worker script when the final merge may run on worker threads, else undefined. */
  private workerUrl(): URL | undefined {
    if (this.threads < 2 || this.scope !== "tensor" || this.options.method) return undefined;
    return findMergeWorker();
  }

  /** The method's parameters for planned tensor `p` under `config` (filters by name, layer position). */
  private tensorParams(p: PlannedTensor, config: MergeConfig): ReturnType<typeof resolveParams> {
    const t = layerPosition(p.name, this.numLayers);
    const g = evaluateAll(config.parameters, p.name, t);
    const ms = p.models.map((mi) =>
      evaluateAll(config.models[this.inputs.configIndex[mi]!]!.parameters, p.name, t),
    );
    return resolveParams(this.method, g, ms);
  }

  /**
   * The final float32 values of planned tensor `index` (merged, or the kept base tensor) under `config`.
   * The result may be a reused read buffer: consume it before the next call. (Used by `write` and by
   * the merge workers.)
   */
  async computeTensor(index: number, config: MergeConfig): Promise<Float32Array> {
    const p = this.tensors[index]!;
    const { inputs, method, session } = this;
    if (p.kind === "copy") return this.readInput(inputs.base ?? inputs.reference, p.name, 0);
    const { base, baseFull, models } = await this.readInputs(p);
    const resolved = this.tensorParams(p, config);
    const input = {
      name: p.name,
      shape: this.mergedShape(p),
      base,
      models,
      modelParams: resolved.modelParams,
      params: resolved.params,
      rng: tensorRng(this.seed, p.name),
    };
    let out = session ? session.mergeTensor(input) : method.mergeTensor(input);
    if (config.dtype) castToComputeDType(out, config.dtype);
    if (p.block) {
      // Outside the common block the reference values stay.
      // (Slot 0 is free here: it only holds the base, which "none"-base methods do not read.)
      const full = baseFull ?? (await this.readInput(inputs.reference, p.name, 0));
      insertBlock(full, p.shape[1]!, out, p.block.rows, p.block.cols);
      out = full;
    }
    return out;
  }

  /**
   * The fused-path job of planned tensor `index` (see linear-fast.ts) when it can take that path:
   * a merged tensor without a block cut, a dense linear method (task_arithmetic, …), BF16/F16/F32
   * inputs and output. Else undefined (the general path).
   */
  fastLinearJob(index: number, config: MergeConfig): FastLinearJob | undefined {
    const p = this.tensors[index]!;
    const { inputs, method } = this;
    if (p.kind !== "merge" || p.block || inputs.base === undefined || method.base === "none")
      return undefined;
    const outDtype = this.outDtypeOf(p);
    if (!isLinearDType(outDtype)) return undefined;
    const sources = [inputs.base, ...p.models.map((mi) => inputs.models[mi]!)];
    const dtypes: LinearDType[] = [];
    for (const src of sources) {
      const dt = src.info(p.name)!.dtype;
      if (!isLinearDType(dt)) return undefined;
      dtypes.push(dt);
    }
    const resolved = this.tensorParams(p, config);
    const plan = denseLinearPlan(method, resolved.params, resolved.modelParams);
    if (!plan) return undefined;
    return {
      index,
      name: p.name,
      numel: numel(p.shape),
      sources,
      dtypes,
      plan,
      outDtype,
      computeDtype: config.dtype,
    };
  }

  /**
   * Planned tensor `index` encoded in its output dtype (fused path when it applies). The result may be
   * a reused buffer: consume it before the next call. (Used by the merge workers.)
   */
  async computeEncoded(index: number, config: MergeConfig): Promise<Uint8Array> {
    const job = this.fastLinearJob(index, config);
    if (job) return this.runFastLinear(job, 0, await this.readRaw(job, 0));
    const encoded = encodeFloat32(
      this.outDtypeOf(this.tensors[index]!),
      await this.computeTensor(index, config),
    );
    return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  }

  /**
   * Reads elements [start, start + count) of a fused job's inputs, as stored, into raw bank `bank`
   * (the whole tensor by default).
   */
  readRaw(job: FastLinearJob, bank: 0 | 1, start = 0, count = job.numel): Promise<RawTensor[]> {
    const buffers = (this.useSharedBuffers ? this.sharedRawBanks : this.rawBanks)[bank];
    const slots = job.sources.map((_, slot) => slot);
    return mapLimited(slots, this.readConcurrency, async (slot) => {
      const dtype = job.dtypes[slot]!;
      const size = linearBytes(dtype);
      const bytes = buffers.view(slot, count * size);
      const src = job.sources[slot]!;
      if (count === job.numel) await src.readBytesInto(job.name, bytes);
      else await src.readBytesRangeInto(job.name, start * size, bytes);
      return { dtype, bytes };
    });
  }

  /** Output buffer `out` (0 or 1) sized for `count` elements of a fused job's output dtype. */
  outView(job: FastLinearJob, out: 0 | 1, count = job.numel): Uint8Array {
    const buffers = this.useSharedBuffers ? this.sharedOutBuffers : this.outBuffers;
    return buffers.view(out, count * linearBytes(job.outDtype));
  }

  /** Runs a fused job on read inputs (`count` elements) into output buffer `out` (0 or 1). */
  runFastLinear(job: FastLinearJob, out: 0 | 1, raw: readonly RawTensor[], count = job.numel): Uint8Array {
    const bytes = this.outView(job, out, count);
    return fusedLinearMerge(raw[0]!, raw.slice(1), job.plan, job.computeDtype, job.outDtype, bytes);
  }

  /**
   * Writes the merged model to `outDir` (Hugging Face layout: sharded safetensors with
   * `{"format": "pt"}` metadata, index when sharded, config/tokenizer files from the donor,
   * mergekit_config.yml and README.md). The output appears atomically: it is built in a sibling temp
   * directory and renamed at the end; on error nothing is left behind.
   */
  async write(outDir: string, options: WriteMergeOptions = {}): Promise<MergeCheckpointsResult> {
    const t0 = performance.now();
    const { inputs, method, tensors, session } = this;
    const config = this.withModelParameters(options.modelParameters);
    const seed = this.seed;
    const configHash = mergeConfigHash(config, { seed });
    const onProgress = options.onProgress ?? this.options.onProgress;
    let tmpDir: string | undefined = await prepareOutputDir(outDir, options.overwrite ?? false);
    let sink: Awaited<ReturnType<typeof createShardedSink>> | undefined;
    try {
      sink = await createShardedSink(
        tmpDir,
        tensors.map((p) => ({ name: p.name, dtype: this.outDtypeOf(p), shape: p.shape })),
        {
          maxShardBytes: parseByteSize(options.outShardSize ?? 5e9),
          metadata: { merge_method: method.name, merge_config_sha256: configHash },
        },
      );
      let threadsUsed = 1;
      const phaseCount = this.fast ? 2 : session ? session.passes.length + 1 : 1;
      const outBytesTotal = tensors.reduce((s, p) => s + numel(p.shape) * storedBytes(this.outDtypeOf(p)), 0);
      let outBytes = 0;
      let done = 0;
      const report = (p: PlannedTensor) => {
        outBytes += numel(p.shape) * storedBytes(this.outDtypeOf(p));
        onProgress?.({
          phase: "merge",
          label: "merge",
          phaseIndex: phaseCount,
          phaseCount,
          tensor: p.name,
          tensorsDone: ++done,
          tensorsTotal: tensors.length,
          bytesDone: outBytes,
          bytesTotal: outBytesTotal,
        });
      };
      for (const p of tensors) {
        if (p.kind === "copy" && !isFloat(p.storedDtype)) {
          await sink.addRaw(p.name, inputs.reference);
          report(p);
        }
      }
      const computed = tensors
        .map((_, i) => i)
        .filter((i) => isFloat(tensors[i]!.storedDtype) || tensors[i]!.kind === "merge");
      // A merge whose tensors all take the fused dense-linear path keeps its pipeline on this thread
      // (it overlaps reading, computing and writing) and splits each piece's computation with
      // threads − 1 helper threads; whole-tensor merge workers (each reading whole tensors and copying
      // results back) measured 3-4× slower there (bench/results/merging-streaming.md).
      if (this.fast) {
        threadsUsed = this.fast.session.threads;
        await this.writeFastGlobal(this.fast, computed, config, sink, report);
        computed.length = 0; // all written
      }
      const allFused = computed.every((i) => this.fastLinearJob(i, config) !== undefined);
      const workerUrl = allFused ? undefined : this.workerUrl();
      const helperUrl = allFused && this.threads > 1 ? findFusedHelper() : undefined;
      if (workerUrl && computed.length > 1) {
        threadsUsed = await runWorkers(workerUrl, this.threads, computed, {
          config: this.config,
          tensorCount: tensors.length,
          modelParameters: options.modelParameters,
          prepare: { seed, baseDir: this.options.baseDir, readConcurrency: this.readConcurrency },
          write: (i, bytes) => sink!.addBytes(tensors[i]!.name, bytes).then(() => report(tensors[i]!)),
        });
      } else {
        // Tensor by tensor, in the reference's order (fused tensors prefetch the next one's inputs).
        const helpers = helperUrl ? new FusedHelpers(helperUrl, this.threads - 1) : undefined;
        this.useSharedBuffers = helpers !== undefined;
        try {
          await writeTensorsInOrder(
            this,
            computed,
            config,
            sink,
            (i) => report(tensors[i]!),
            Math.max(1, Math.floor(this.options.pieceElements ?? PIECE_ELEMENTS)),
            helpers,
          );
          if (helpers) threadsUsed = helpers.size + 1;
        } finally {
          this.useSharedBuffers = false;
          await helpers?.close();
        }
      }
      await sink.finish();
      sink = undefined;
      const donor = config.baseModel ?? config.models[0]!.model;
      if (options.copyTokenizer ?? true) {
        await copyTagalongFiles(tmpDir, donor, config.tokenizerSource, this.options.baseDir);
      }
      if (options.writeModelCard ?? true) await writeMergeMetadataFiles(tmpDir, config, configHash);
      await commitOutputDir(tmpDir, outDir, options.overwrite ?? false);
      tmpDir = undefined;
      return {
        outDir,
        method: method.name,
        scope: this.scope,
        tensorsMerged: tensors.filter((p) => p.kind === "merge").length,
        tensorsCopied: tensors.filter((p) => p.kind === "copy").length,
        threads: threadsUsed,
        outputBytes: outBytes,
        warnings: this.warnings,
        configHash,
        seconds: (performance.now() - t0) / 1000,
      };
    } finally {
      if (sink) await sink.abort().catch(() => {});
      if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
    }
  }

  /** The fast path's merge of every merged tensor, then all computed tensors written in order. */
  private async writeFastGlobal(
    fast: NonNullable<PreparedCheckpointMerge["fast"]>,
    computed: readonly number[],
    config: MergeConfig,
    sink: Awaited<ReturnType<typeof createShardedSink>>,
    report: (p: PlannedTensor) => void,
  ): Promise<void> {
    const perTensor = fast.order.map((i) => this.tensorParams(this.tensors[i]!, config));
    const outDtype = fast.order.length > 0 ? this.outDtypeOf(this.tensors[fast.order[0]!]!) : "F32";
    fast.session.beginMerge(perTensor, outDtype);
    // Tensors merge in ranges of up to `rangeElements`; each range is written (in order, on libuv's
    // threads) while the next one merges. A range's output buffer is reused two ranges later, so that
    // range waits for its writes first.
    const maxRange = fast.session.rangeElements;
    const N = fast.order.length;
    const rangeOf: number[] = [];
    const rangeWritten: Promise<void>[] = [];
    let merged = 0;
    const mergeNext = async () => {
      let to = merged + 1;
      let elements = numel(this.tensors[fast.order[merged]!]!.shape);
      while (to < N) {
        const e = numel(this.tensors[fast.order[to]!]!.shape);
        if (elements + e > maxRange) break;
        elements += e;
        to++;
      }
      const r = rangeWritten.length;
      rangeWritten.push(Promise.resolve());
      if (r >= 2) await rangeWritten[r - 2];
      await fast.session.mergeTensors(merged, to);
      for (let t = merged; t < to; t++) rangeOf[t] = r;
      merged = to;
    };
    let chain: Promise<void> = Promise.resolve();
    try {
      for (const i of computed) {
        const p = this.tensors[i]!;
        const j = fast.index.get(i);
        let bytes: Uint8Array;
        if (j !== undefined) {
          while (j >= merged) await mergeNext();
          bytes = fast.session.outputView(j);
        } else {
          await chain;
          bytes = await this.computeEncoded(i, config);
        }
        chain = chain.then(async () => {
          await sink.addBytes(p.name, bytes);
          report(p);
        });
        if (j !== undefined) rangeWritten[rangeOf[j]!] = chain;
      }
      await chain;
    } finally {
      await chain.catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.fast?.session.close();
    this.session?.close?.();
    for (const s of this.inputs.all) await s.close().catch(() => {});
  }
}

/** Opens, plans and (for global-scope methods) runs the statistics passes of a checkpoint merge. */
export function prepareCheckpointMerge(
  config: MergeConfig,
  options: PrepareMergeOptions = {},
): Promise<PreparedCheckpointMerge> {
  return PreparedCheckpointMerge.prepare(config, options);
}

/**
 * Merges the checkpoints named by `config` into `outDir`: prepare (open, plan, global passes), write
 * (per tensor: read, merge, round, write to its shard offset), close. See `PreparedCheckpointMerge.write`.
 */
export async function mergeCheckpoints(
  config: MergeConfig,
  outDir: string,
  options: MergeCheckpointsOptions = {},
): Promise<MergeCheckpointsResult> {
  const t0 = performance.now();
  const prepared = await prepareCheckpointMerge(config, options);
  try {
    const result = await prepared.write(outDir, options);
    return { ...result, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await prepared.close();
  }
}
