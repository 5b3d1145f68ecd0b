// The executor of checkpoint merges: opens the inputs, asks the planner for the per-tensor tasks, runs
// the global statistics (a method's stored-global fast path, else its passes over lazily read
// tensors), and writes outputs: per tensor read, merge, round, hand to the sharded writer, with the
// fused dense-linear path for tensors whose method declares it, and optional worker threads.
// Peak memory ≈ (inputs + 2) × largest tensor on the general path (the sharded writer writes each
// tensor at its offset, no shard buffer); a few pieces on the fused path.

import { performance } from "node:perf_hooks";
import { type MergeConfig, mergeConfigHash, type ParameterMap, parseByteSize } from "../config/index.js";
import { countNonFiniteStored } from "../engine/nonfinite.js";
import { MergeRun } from "../engine/run.js";
import { castToComputeDType } from "../io/cast.js";
import { outputModelConfig, readModelConfig } from "../io/model-config.js";
import { StagedOutput } from "../io/output-dir.js";
import {
  acquireOutputLock,
  checkOutputDir,
  type OutputLock,
  removeStaleTemporaries,
} from "../io/output-guard.js";
import { createShardedSink, encodeFloat32 } from "../io/sink.js";
import { copyTagalongFiles, writeMergeMetadataFiles } from "../io/tagalong.js";
// Importing the built-in methods registers them, so `merge_method` names resolve without the package index.
import "../methods/index.js";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ArchitectureDefinition, ConfigJson } from "../architecture/index.js";
import { ByteBuffers } from "../buffers.js";
import { checkAuxGiven, getMethod, type MergeMethod, MergeMethodError } from "../method.js";
import { denseLinearChoice, storedGlobalChoice } from "../plan/fast-paths.js";
import {
  type CheckpointPlan,
  isComputed,
  mergedShape,
  type PlannedOutput,
  planInputs,
  storedBytes,
  tensorParams,
  withModelParameters,
} from "../plan/plan.js";
import type { MergeWarning } from "../plan/tensors.js";
import {
  type MergeTokenizer,
  readChatTemplate,
  resolveChatTemplate,
  setChatTemplate,
} from "../tokenizer/index.js";
import { insertBlock } from "./blocks.js";
import type { MergeProgressEvent } from "./events.js";
import { FusedHelpers } from "./fused-helpers.js";
import {
  type FastLinearJob,
  fusedLinearMerge,
  type LinearDType,
  linearBytes,
  type RawTensor,
} from "./fused-linear.js";
import { FastGlobalRun } from "./global-fast.js";
import { runGlobalPasses } from "./global-passes.js";
import { CheckpointInputs } from "./inputs.js";
import { donorOf, planFromInputs } from "./layout.js";
import { runWorkers } from "./workers.js";
import { PIECE_ELEMENTS, writeTensorsInOrder } from "./write-order.js";

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
   * (inputs + 2) × largest tensor. Needs the built package (dist/exec/merge-worker.js); global-scope
   * methods and custom `method` objects always run on this thread. Merges that fully take the fused
   * dense-linear path (task_arithmetic and friends, see fused-linear.ts) stream on this thread and
   * split each piece's computation with threads − 1 helper threads instead (no extra memory).
   */
  threads?: number;
  /**
   * Elements per piece of the fused dense-linear path (default 1 Mi): its memory is about
   * 2 × (inputs + 1) pieces; smaller pieces overlap reading and computing more finely.
   */
  pieceElements?: number;
  /**
   * Use this method object instead of looking `merge_method` up in the registry. Its fast-path
   * declarations are not used (it may be a modified copy): it always takes the general path.
   */
  method?: MergeMethod;
  /**
   * Merge NaN / ±Inf input values as they are (default false: a NonFiniteInputError naming the model,
   * tensor and count). What was merged is reported through `onNotice` at the end of each write.
   */
  allowNonfinite?: boolean;
  /**
   * Architecture definition files (mergekit's JSON format) or directories of them, added to the
   * built-in table for `slices` / `modules` configs and tokenizer merges (besides the config's
   * `architecture_files` and the X_MERGE_ARCHITECTURES environment variable).
   */
  architectureFiles?: readonly string[];
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
  /**
   * Non-finite input values (NaN, ±Inf) merged as they are, per input and tensor (with allowNonfinite;
   * empty otherwise, since any would have been an error).
   */
  readonly nonFinite: readonly { model: string; tensor: string; count: number }[];
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const FLOAT = new Set(["F64", "F32", "F16", "BF16"]);

/**
 * A merge with its inputs open, its tensors planned and (for global-scope methods) its statistics
 * passes done. `write` produces an output directory; it can be called repeatedly (coefficient search:
 * each candidate only redoes the final per-tensor merge). Call `close` when done.
 */
export class PreparedCheckpointMerge {
  readonly scope: "tensor" | "global";
  private readonly outBuffers = new ByteBuffers();
  private readonly sharedOutBuffers = new ByteBuffers(true);
  /**
   * The merge core of the general path: the method with its whole-model parameters, and for a
   * global-scope method its session with the statistics passes done (unset when the fast path took them).
   */
  private run?: MergeRun;
  /** The method's stored-global fast path, when it took the global statistics. */
  private fast?: FastGlobalRun;
  /** The config of the write in progress (per-model parameters may differ between writes). */
  private current: MergeConfig;
  /** config.json of each input (aligned with the plan's inputs). */
  private configs: readonly (ConfigJson | undefined)[] = [];
  /** The architecture definition, when the merge needed one (slices, modules, tokenizer merges). */
  architecture?: ArchitectureDefinition;
  /** The tokenizer merge (tokenizer_source / tokenizer:), when the config asks for one. */
  private tokenizer?: MergeTokenizer;

  private constructor(
    readonly config: MergeConfig,
    readonly plan: CheckpointPlan,
    private readonly inputs: CheckpointInputs,
    private readonly options: PrepareMergeOptions,
  ) {
    this.scope = plan.scope;
    this.current = config;
  }

  /** Opens the inputs, validates parameters, plans every tensor and runs global statistics passes. */
  static async prepare(
    config: MergeConfig,
    options: PrepareMergeOptions = {},
  ): Promise<PreparedCheckpointMerge> {
    const method = options.method ?? getMethod(config.mergeMethod);
    const refs = planInputs(config, method);
    const inputs = await CheckpointInputs.open(refs, {
      baseDir: options.baseDir,
      computeDtype: config.dtype,
      readConcurrency: options.readConcurrency,
      allowNonfinite: options.allowNonfinite,
      auxInputs: method.auxInputs,
    });
    try {
      const planned = await planFromInputs(config, method, refs, inputs, {
        baseDir: options.baseDir,
        strict: options.strict ?? false,
        architectureFiles: options.architectureFiles,
        onWarning: (message) => options.onWarning?.({ kind: "extra", tensor: "", message }),
      });
      const { plan } = planned;
      const merged = plan.tensors.filter((p) => p.kind === "merge").map((p) => p.name);
      checkAuxGiven(
        method,
        plan.whole.params,
        (kind) => inputs.auxCovers(kind, merged),
        (kind) => inputs.auxWhere(kind) ?? `${kind}.safetensors beside each checkpoint`,
      );
      for (const w of plan.warnings) options.onWarning?.(w);
      const prepared = new PreparedCheckpointMerge(config, plan, inputs, options);
      prepared.configs = planned.configs;
      prepared.architecture = planned.architecture;
      prepared.tokenizer = planned.tokenizer;
      if (plan.scope === "global") await prepared.prepareGlobal();
      else {
        prepared.run = new MergeRun({
          method,
          params: plan.whole.params,
          modelParams: plan.whole.modelParams,
          tensors: [],
          seed: prepared.seed,
        });
      }
      return prepared;
    } catch (err) {
      await inputs.close();
      throw err;
    }
  }

  get method(): MergeMethod {
    return this.plan.method;
  }

  get tensors(): readonly PlannedOutput[] {
    return this.plan.tensors;
  }

  get warnings(): readonly MergeWarning[] {
    return this.plan.warnings;
  }

  /** Indices into `config.models` of the models being merged (the base excluded when the method uses one). */
  get mergeModelIndices(): readonly number[] {
    return this.plan.configIndex;
  }

  private get seed(): number {
    return this.options.seed ?? 0;
  }

  /** Fast paths are taken only for methods from the registry (see PrepareMergeOptions.method). */
  private get trusted(): boolean {
    return this.options.method === undefined;
  }

  /** The saved dtype of a planned tensor: out_dtype, else dtype, else its stored dtype (non-floats stay). */
  outDtypeOf(p: { outDtype: string }): string {
    return p.outDtype;
  }

  /** Global statistics: the stored-global fast path when the method declares one that applies, else passes. */
  private async prepareGlobal(): Promise<void> {
    const { plan, inputs, options } = this;
    if (this.trusted) {
      const choice = storedGlobalChoice(plan, this.config, inputs.base !== undefined, (i) => {
        const name = plan.tensors[i]!.name;
        return [inputs.base!, ...inputs.models].map((s) => s.info(name)!.dtype);
      });
      if (choice.notice)
        options.onNotice?.(`${choice.notice}; taking the general path (same output, slower)`);
      if (choice.path) {
        this.fast = await FastGlobalRun.start(choice, plan, inputs, options);
        if (this.fast) return;
      }
    }
    this.run = await runGlobalPasses(plan, inputs, {
      seed: this.seed,
      threads: options.threads,
      onProgress: options.onProgress,
    });
  }

  /** The config with replaced per-model parameters (see `WriteMergeOptions.modelParameters`). */
  withModelParameters(modelParameters?: readonly ParameterMap[]): MergeConfig {
    return withModelParameters(this.config, modelParameters);
  }

  private get threads(): number {
    return Math.max(1, Math.floor(this.options.threads ?? 1));
  }

  /** Whether the final merge runs on merge workers (tensor scope, a built-in method, threads > 1). */
  private get mergeWorkers(): boolean {
    return this.threads > 1 && this.scope === "tensor" && this.trusted;
  }

  tensorName(index: number): string {
    return this.plan.tensors[index]!.name;
  }

  /**
   * The final float32 values of planned tensor `index` (merged, or the kept base tensor) under `config`
   * (default: the config of the write in progress). The result may be a reused read buffer: consume it
   * before the next call. (Used by `write` and by the merge workers.)
   */
  async computeTensor(index: number, config: MergeConfig = this.current): Promise<Float32Array> {
    const p = this.plan.tensors[index]!;
    const { inputs, method } = this;
    if (p.kind === "copy")
      return inputs.readFloat32(inputs.sourceAt(p.reads.keep.input), p.reads.keep.name, 0);
    const { base, baseFull, models } = await inputs.readMerged(
      p,
      method.base !== "none",
      p.vocabulary ? this.tokenizer?.permuter(p.name) : undefined,
    );
    const resolved = tensorParams(this.plan, config, index);
    const request = {
      name: p.name,
      shape: mergedShape(p),
      base,
      models,
      modelParams: resolved.modelParams,
      params: resolved.params,
      aux: await inputs.readAux(p),
    };
    if (!this.run)
      throw new MergeMethodError(
        `${method.name}: tensor '${p.name}' has no general-path merge (fast path only)`,
      );
    let out = this.run.mergeTensor(request);
    if (config.dtype) castToComputeDType(out, config.dtype);
    if (p.block) {
      // Outside the common block the reference values stay.
      // (Slot 0 is free here: it only holds the base, which "none"-base methods do not read.)
      const keep = p.reads.keep;
      const full = baseFull ?? (await inputs.readFloat32(inputs.sourceAt(keep.input), keep.name, 0));
      insertBlock(full, p.shape[1]!, out, p.block.rows, p.block.cols);
      out = full;
    }
    return out;
  }

  /**
   * The fused-path job of planned tensor `index` when its method declares a dense-linear fast path that
   * covers it (see plan/fast-paths.ts); else undefined (the general path).
   */
  fastLinearJob(index: number, config: MergeConfig = this.current): FastLinearJob | undefined {
    const p = this.plan.tensors[index]!;
    const { inputs } = this;
    const base = p.reads.base;
    if (!this.trusted || p.kind !== "merge" || base === undefined || p.vocabulary) return undefined;
    const reads = [base, ...p.reads.models];
    const sources = reads.map((r) => inputs.sourceAt(r.input));
    if (!sources.every((src) => src.rangedReads)) return undefined;
    const names = reads.map((r) => r.name);
    const dtypes = sources.map((src, k) => src.info(names[k]!)!.dtype);
    const plan = denseLinearChoice(this.method, p, dtypes, tensorParams(this.plan, config, index));
    if (!plan) return undefined;
    return {
      index,
      name: p.name,
      numel: numel(p.shape),
      sources,
      names,
      dtypes: dtypes as LinearDType[],
      plan,
      outDtype: p.outDtype as LinearDType,
      computeDtype: config.dtype,
    };
  }

  /**
   * Planned tensor `index` encoded in its output dtype (fused path when it applies). The result may be
   * a reused buffer: consume it before the next call. (Used by the merge workers.)
   */
  async computeEncoded(index: number, config: MergeConfig = this.current): Promise<Uint8Array> {
    const job = this.fastLinearJob(index, config);
    if (job) {
      const raw = await this.readRaw(job, 0);
      const out = this.runFastLinear(job, 0, raw);
      this.checkFused(job, raw, out);
      return out;
    }
    const encoded = encodeFloat32(
      this.plan.tensors[index]!.outDtype,
      await this.computeTensor(index, config),
    );
    return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  }

  /**
   * Reads elements [start, start + count) of a fused job's inputs, as stored, into raw bank `bank`
   * (the whole tensor by default).
   */
  async readRaw(job: FastLinearJob, bank: 0 | 1, start = 0, count = job.numel): Promise<RawTensor[]> {
    return (await this.inputs.readStored(
      job.sources,
      job.names,
      bank,
      start,
      count,
      job.numel,
    )) as RawTensor[];
  }

  /** Output buffer `out` (0 or 1) sized for `count` elements of a fused job's output dtype. */
  outView(job: FastLinearJob, out: 0 | 1, count = job.numel): Uint8Array {
    const buffers = this.inputs.useShared ? this.sharedOutBuffers : this.outBuffers;
    return buffers.view(out, count * linearBytes(job.outDtype));
  }

  /** Runs a fused job on read inputs (`count` elements) into output buffer `out` (0 or 1). */
  runFastLinear(job: FastLinearJob, out: 0 | 1, raw: readonly RawTensor[], count = job.numel): Uint8Array {
    const bytes = this.outView(job, out, count);
    return fusedLinearMerge(raw[0]!, raw.slice(1), job.plan, job.computeDtype, job.outDtype, bytes);
  }

  /**
   * Non-finite inputs of a fused piece. θ₀ + scale·Σ w_i (θ_i − θ₀) is non-finite wherever an input is
   * (NaN and ±Inf survive +, −, × in float32), so the inputs are scanned only when the output has one.
   */
  checkFused(job: FastLinearJob, raw: readonly RawTensor[], out: Uint8Array): void {
    if (countNonFiniteStored(job.outDtype, out) === 0) return;
    raw.forEach((r, slot) => {
      this.inputs.nonFinite.add(job.sources[slot]!.label, job.name, countNonFiniteStored(r.dtype, r.bytes));
    });
  }

  /**
   * Writes the merged model to `outDir` (Hugging Face layout: sharded safetensors with
   * `{"format": "pt"}` metadata, index when sharded, config/tokenizer files from the donor,
   * mergekit_config.yml and README.md). The output appears atomically: it is built in a sibling temp
   * directory and renamed at the end; on error nothing is left behind.
   */
  async write(outDir: string, options: WriteMergeOptions = {}): Promise<MergeCheckpointsResult> {
    return this.writeLocked(outDir, options);
  }

  /** `write`, under `lock` when the caller already holds the output's lock (mergeCheckpoints). */
  async writeLocked(
    outDir: string,
    options: WriteMergeOptions,
    held?: OutputLock,
  ): Promise<MergeCheckpointsResult> {
    const t0 = performance.now();
    const { inputs, method, plan } = this;
    const tensors = plan.tensors;
    const config = this.withModelParameters(options.modelParameters);
    this.current = config;
    const seed = this.seed;
    const configHash = mergeConfigHash(config, { seed });
    const onProgress = options.onProgress ?? this.options.onProgress;
    const overwrite = options.overwrite ?? false;
    await checkOutputDir(outDir, { inputs: this.inputs.paths, overwrite });
    const lock = held ?? (await acquireOutputLock(outDir, this.options.onNotice));
    let staged: StagedOutput | undefined;
    let sink: Awaited<ReturnType<typeof createShardedSink>> | undefined;
    try {
      await noticeStaleTemporaries(outDir, this.options.onNotice);
      staged = await StagedOutput.create(outDir, overwrite);
      const tmpDir = staged.dir;
      sink = await createShardedSink(
        tmpDir,
        tensors.map((p) => ({ name: p.name, dtype: p.outDtype, shape: p.shape })),
        {
          maxShardBytes: parseByteSize(options.outShardSize ?? 5e9),
          metadata: { merge_method: method.name, merge_config_sha256: configHash },
        },
      );
      let threadsUsed = 1;
      const phaseCount = this.fast ? 2 : this.run ? this.run.passes.length + 1 : 1;

      const outBytesTotal = tensors.reduce((s, p) => s + numel(p.shape) * storedBytes(p.outDtype), 0);
      let outBytes = 0;
      let done = 0;
      const report = (i: number) => {
        const p = tensors[i]!;
        outBytes += numel(p.shape) * storedBytes(p.outDtype);
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
      for (let i = 0; i < tensors.length; i++) {
        const p = tensors[i]!;
        if (p.kind === "copy" && !FLOAT.has(p.storedDtype)) {
          await sink.addRaw(p.name, inputs.sourceAt(p.reads.keep.input), p.reads.keep.name);
          report(i);
        }
      }
      const computed = tensors.map((_, i) => i).filter((i) => isComputed(tensors[i]!));
      if (this.fast) {
        threadsUsed = this.fast.threads;
        await this.fast.write(
          computed,
          (i) => tensorParams(plan, config, i),
          sink,
          report,
          (i) => this.computeEncoded(i, config),
        );
      } else {
        // A merge whose tensors all take the fused dense-linear path keeps its pipeline on this thread
        // (it overlaps reading, computing and writing) and splits each piece's computation with
        // threads − 1 helper threads; whole-tensor merge workers (each reading whole tensors and copying
        // results back) measured 3-4× slower there.
        const allFused = computed.every((i) => this.fastLinearJob(i, config) !== undefined);
        if (!allFused && this.mergeWorkers && computed.length > 1) {
          threadsUsed = await runWorkers(this.threads, computed, {
            config: this.config,
            tensorCount: tensors.length,
            modelParameters: options.modelParameters,
            prepare: {
              seed,
              baseDir: this.options.baseDir,
              readConcurrency: inputs.readConcurrency,
              allowNonfinite: inputs.nonFinite.allow,
              ...(this.options.architectureFiles
                ? { architectureFiles: [...this.options.architectureFiles] }
                : {}),
            },
            write: (i, bytes) => sink!.addBytes(tensors[i]!.name, bytes).then(() => report(i)),
            nonFinite: (found) => {
              for (const f of found) inputs.nonFinite.add(f.model, f.tensor, f.count);
            },
          });
        } else {
          // Tensor by tensor, in the reference's order (fused tensors prefetch the next one's inputs).
          const helpers =
            allFused && this.threads > 1 ? await FusedHelpers.start(this.threads - 1) : undefined;
          inputs.useShared = helpers !== undefined;
          try {
            await writeTensorsInOrder(
              this,
              computed,
              sink,
              report,
              Math.max(1, Math.floor(this.options.pieceElements ?? PIECE_ELEMENTS)),
              helpers,
            );
            if (helpers) threadsUsed = helpers.size + 1;
          } finally {
            inputs.useShared = false;
            await helpers?.close();
          }
        }
      }
      await sink.finish();
      sink = undefined;
      await this.writeSideFiles(tmpDir, config, options);
      if (options.writeModelCard ?? true) await writeMergeMetadataFiles(tmpDir, config, configHash);
      await staged.commit();
      const summary = this.options.allowNonfinite ? inputs.nonFinite.summary() : undefined;
      if (summary) this.options.onNotice?.(summary);
      return {
        outDir,
        method: method.name,
        scope: this.scope,
        tensorsMerged: tensors.filter((p) => p.kind === "merge").length,
        tensorsCopied: tensors.filter((p) => p.kind === "copy").length,
        threads: threadsUsed,
        outputBytes: outBytes,
        warnings: plan.warnings,
        configHash,
        seconds: (performance.now() - t0) / 1000,
        nonFinite: inputs.nonFinite.entries(),
      };
    } finally {
      this.current = this.config;
      if (sink) await sink.abort().catch(() => {});
      await staged?.discard();
      if (!held) await lock.release();
    }
  }

  /**
   * The files beside the weights: the donor's tagalong files (config.json, generation config, the
   * tokenizer unless one is built), the output config.json when the merge changed it (layer counts,
   * vocabulary size, dtype), the built tokenizer's files, and the chat template.
   */
  private async writeSideFiles(
    tmpDir: string,
    config: MergeConfig,
    options: WriteMergeOptions,
  ): Promise<void> {
    const notice = (m: string) => this.options.onNotice?.(m);
    const donor = donorOf(config);
    const built = this.tokenizer !== undefined;
    await copyTagalongFiles(tmpDir, donor, {
      tokenizer: !built && (options.copyTokenizer ?? true),
      baseDir: this.options.baseDir,
    });
    const donorConfig = this.configs[this.plan.inputs.indexOf(donor)] ?? (await readModelConfig(tmpDir));
    if (donorConfig) {
      const out = outputModelConfig(donorConfig, {
        ...(this.plan.layers ? { layers: this.plan.layers } : {}),
        configOf: (ref) => this.configs[this.plan.inputs.indexOf(ref)],
        ...(this.tokenizer
          ? {
              vocab: { key: this.architecture?.vocabSizeKey ?? "vocab_size", size: this.tokenizer.vocabSize },
            }
          : {}),
        ...((config.outDtype ?? config.dtype) ? { dtype: config.outDtype ?? config.dtype } : {}),
      });
      for (const n of out.notes) notice(n);
      if (out.changed)
        await writeFile(join(tmpDir, "config.json"), `${JSON.stringify(out.config, null, 2)}\n`);
    } else if (this.plan.layers) {
      notice(`the donor model ${donor} has no config.json: the output has none either`);
    }
    const templates =
      config.chatTemplate === "auto"
        ? await Promise.all(this.inputs.sources.map((src) => readChatTemplate(src.path)))
        : [];
    const template =
      config.chatTemplate === undefined
        ? undefined
        : resolveChatTemplate(config.chatTemplate, () => templates);
    if (this.tokenizer) await this.tokenizer.write(tmpDir, template);
    else if (template !== undefined) {
      if (options.copyTokenizer ?? true) await setChatTemplate(tmpDir, template);
      else
        notice(
          "chat_template is set but the tokenizer is not copied (copyTokenizer false): the template is not saved",
        );
    }
  }

  /** Non-finite inputs met (with allowNonfinite) since the previous call (merge workers report them). */
  drainNonFinite(): { model: string; tensor: string; count: number }[] {
    return this.inputs.nonFinite.drain();
  }

  async close(): Promise<void> {
    await this.fast?.close();
    this.run?.close();
    await this.inputs.close();
  }
}

/** Removes temporaries that killed merges to `outDir` left behind, and says so. */
export async function noticeStaleTemporaries(
  outDir: string,
  onNotice?: (message: string) => void,
): Promise<void> {
  const removed = await removeStaleTemporaries(outDir);
  if (removed.length > 0) {
    onNotice?.(
      `removed ${removed.length} temporar${removed.length === 1 ? "y" : "ies"} that killed merges to ${outDir} left behind: ${removed.join(", ")}`,
    );
  }
}

/** Opens, plans and (for global-scope methods) runs the statistics passes of a checkpoint merge. */
export function prepareCheckpointMerge(
  config: MergeConfig,
  options: PrepareMergeOptions = {},
): Promise<PreparedCheckpointMerge> {
  return PreparedCheckpointMerge.prepare(config, options);
}
