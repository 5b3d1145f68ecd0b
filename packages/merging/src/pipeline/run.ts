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
  type MergeDType,
  mergeConfigHash,
  type ParameterSetting,
  parseByteSize,
  type ScalarSetting,
} from "../config/index.js";
import { castToComputeDType } from "../io/cast.js";
import { commitOutputDir, prepareOutputDir } from "../io/output-dir.js";
import { createShardedSink } from "../io/sink.js";
import { openModel } from "../io/source.js";
import { copyTagalongFiles, writeMergeMetadataFiles } from "../io/tagalong.js";
import type { TensorSource } from "../io/types.js";
// Importing the built-in methods registers them, so `merge_method` names resolve without the package index.
import "../methods/index.js";
import { type GlobalMergeSession, getMethod, type MergeMethod, resolveParams, tensorRng } from "../method.js";
import { extractBlock, insertBlock } from "./blocks.js";
import { ReadBuffers } from "./buffers.js";
import { MergeInputError } from "./errors.js";
import type { MergeProgressEvent } from "./events.js";
import { type MergeWarning, type PlannedTensor, planMerge } from "./plan.js";

export interface MergeCheckpointsOptions {
  /** Maximum output shard size in bytes (number or "5GB" / "500MB" / "1e9"); default 5 GB. */
  outShardSize?: number | string;
  /** Seed for randomized methods (DARE, DELLA); default 0. */
  seed?: number;
  /** Turn skipped tensors / models (missing, shape mismatch) into errors. */
  strict?: boolean;
  /** Replace an existing non-empty output directory. */
  overwrite?: boolean;
  /** Relative model paths are resolved against this directory (default: the working directory). */
  baseDir?: string;
  /** Copy tokenizer and other tagalong files from the donor model (default true). */
  copyTokenizer?: boolean;
  /** Write README.md (model card) and mergekit_config.yml (default true). */
  writeModelCard?: boolean;
  /** Input tensors read in parallel per output tensor (default 4; 1 = one after another). */
  readConcurrency?: number;
  /** Use this method object instead of looking `merge_method` up in the registry. */
  method?: MergeMethod;
  onProgress?: (event: MergeProgressEvent) => void;
  onWarning?: (warning: MergeWarning) => void;
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
  readonly seconds: number;
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8 };
const storedBytes = (dt: string) => DTYPE_BYTES[dt] ?? elementSize(dt as DType);

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
 * Merges the checkpoints named by `config` into `outDir` (Hugging Face layout: sharded safetensors with
 * `{"format": "pt"}` metadata, index when sharded, config/tokenizer files from the donor,
 * mergekit_config.yml and README.md). The output appears atomically: it is built in a sibling temp
 * directory and renamed at the end; on error nothing is left behind.
 */
export async function mergeCheckpoints(
  config: MergeConfig,
  outDir: string,
  options: MergeCheckpointsOptions = {},
): Promise<MergeCheckpointsResult> {
  const t0 = performance.now();
  const method = options.method ?? getMethod(config.mergeMethod);
  const seed = options.seed ?? 0;
  const maxShardBytes = parseByteSize(options.outShardSize ?? 5e9);
  const readConcurrency = Math.max(1, Math.floor(options.readConcurrency ?? 4));
  const inputs = await openInputs(config, method, options.baseDir);
  let tmpDir: string | undefined;
  let sink: Awaited<ReturnType<typeof createShardedSink>> | undefined;
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

    const configHash = mergeConfigHash(config, { seed });
    const isFloat = (dt: string) => dt in DTYPE_BYTES && dt !== "I64";
    const outDtypeOf = (p: PlannedTensor): string =>
      isFloat(p.storedDtype) ? (config.outDtype ?? config.dtype ?? p.storedDtype) : p.storedDtype;
    tmpDir = await prepareOutputDir(outDir, options.overwrite ?? false);
    sink = await createShardedSink(
      tmpDir,
      tensors.map((p) => ({ name: p.name, dtype: outDtypeOf(p), shape: p.shape })),
      { maxShardBytes, metadata: { merge_method: method.name, merge_config_sha256: configHash } },
    );

    const numLayers = countLayers(inputs.reference.names());
    const computeDtype: MergeDType | undefined = config.dtype;
    const buffers = new ReadBuffers();
    /** Reads one input tensor into read slot `slot` (0 = base/reference, 1 + i = merge model i). */
    const readInput = async (src: TensorSource, name: string, slot: number) => {
      const data = await src.readFloat32(name, buffers.view(slot, numel(src.info(name)!.shape)));
      if (computeDtype) castToComputeDType(data, computeDtype);
      return data;
    };
    /** Reads the inputs of one planned merge tensor, cut to the common block when there is one. */
    const readInputs = async (p: PlannedTensor) => {
      const cut = (a: Float32Array, src: TensorSource) =>
        p.block ? extractBlock(a, src.info(p.name)!.shape[1]!, p.block.rows, p.block.cols) : a;
      const withBase = inputs.base !== undefined && method.base !== "none";
      const slots = withBase ? [-1, ...p.models] : [...p.models];
      const read = await mapLimited(slots, readConcurrency, (mi) =>
        mi < 0 ? readInput(inputs.base!, p.name, 0) : readInput(inputs.models[mi]!, p.name, 1 + mi),
      );
      const baseFull = withBase ? read[0] : undefined;
      const base = baseFull ? cut(baseFull, inputs.base!) : undefined;
      const models = p.models.map((mi, j) => cut(read[j + (withBase ? 1 : 0)]!, inputs.models[mi]!));
      return { base, baseFull, models };
    };
    const mergedShape = (p: PlannedTensor) => (p.block ? [p.block.rows, p.block.cols] : p.shape);
    const paramsFor = (p: PlannedTensor) => {
      const t = layerPosition(p.name, numLayers);
      const g = evaluateAll(config.parameters, p.name, t);
      const ms = p.models.map((mi) =>
        evaluateAll(config.models[inputs.configIndex[mi]!]!.parameters, p.name, t),
      );
      return resolveParams(method, g, ms);
    };

    // Global-scope statistics passes.
    let session: GlobalMergeSession | undefined;
    if (scope === "global") {
      const merging = tensors.filter((p) => p.kind === "merge");
      session = method.beginGlobal!({
        tensors: merging.map((p) => ({ name: p.name, shape: mergedShape(p) })),
        numModels: inputs.models.length,
        modelParams: whole.modelParams,
        params: whole.params,
        seed,
      });
      const passBytes = merging.reduce(
        (s, p) =>
          s + p.models.length * numel(mergedShape(p)) * 4 + (inputs.base ? numel(mergedShape(p)) * 4 : 0),
        0,
      );
      const phaseCount = session.passes.length + 1;
      for (let pi = 0; pi < session.passes.length; pi++) {
        const pass = session.passes[pi]!;
        let done = 0;
        let bytes = 0;
        for (const p of merging) {
          const { base, models } = await readInputs(p);
          pass.visit({ name: p.name, shape: mergedShape(p), base, models });
          done++;
          bytes += models.length * numel(mergedShape(p)) * 4 + (base ? base.length * 4 : 0);
          options.onProgress?.({
            phase: "pass",
            label: pass.label,
            phaseIndex: pi + 1,
            phaseCount,
            tensor: p.name,
            tensorsDone: done,
            tensorsTotal: merging.length,
            bytesDone: bytes,
            bytesTotal: passBytes,
          });
        }
        pass.finish();
      }
    }

    // The merge itself, tensor by tensor, in the reference's order.
    const phaseCount = session ? session.passes.length + 1 : 1;
    const outBytesTotal = tensors.reduce((s, p) => s + numel(p.shape) * storedBytes(outDtypeOf(p)), 0);
    let outBytes = 0;
    let merged = 0;
    let copied = 0;
    for (let i = 0; i < tensors.length; i++) {
      const p = tensors[i]!;
      if (p.kind === "copy") {
        copied++;
        const src = inputs.base ?? inputs.reference;
        if (!isFloat(p.storedDtype)) {
          await sink.addRaw(p.name, inputs.reference);
        } else {
          await sink.add(p.name, await readInput(src, p.name, 0));
        }
      } else {
        merged++;
        const { base, baseFull, models } = await readInputs(p);
        const resolved = paramsFor(p);
        const input = {
          name: p.name,
          shape: mergedShape(p),
          base,
          models,
          modelParams: resolved.modelParams,
          params: resolved.params,
          rng: tensorRng(seed, p.name),
        };
        let out = session ? session.mergeTensor(input) : method.mergeTensor(input);
        if (computeDtype) castToComputeDType(out, computeDtype);
        if (p.block) {
          // Outside the common block the reference values stay.
          // (Slot 0 is free here: it only holds the base, which "none"-base methods do not read.)
          const full = baseFull ?? (await readInput(inputs.reference, p.name, 0));
          insertBlock(full, p.shape[1]!, out, p.block.rows, p.block.cols);
          out = full;
        }
        await sink.add(p.name, out);
      }
      outBytes += numel(p.shape) * storedBytes(outDtypeOf(p));
      options.onProgress?.({
        phase: "merge",
        label: "merge",
        phaseIndex: phaseCount,
        phaseCount,
        tensor: p.name,
        tensorsDone: i + 1,
        tensorsTotal: tensors.length,
        bytesDone: outBytes,
        bytesTotal: outBytesTotal,
      });
    }
    await sink.finish();
    sink = undefined;

    const donor = config.baseModel ?? config.models[0]!.model;
    if (options.copyTokenizer ?? true) {
      await copyTagalongFiles(tmpDir, donor, config.tokenizerSource, options.baseDir);
    }
    if (options.writeModelCard ?? true) await writeMergeMetadataFiles(tmpDir, config, configHash);
    await commitOutputDir(tmpDir, outDir, options.overwrite ?? false);
    tmpDir = undefined;
    return {
      outDir,
      method: method.name,
      scope,
      tensorsMerged: merged,
      tensorsCopied: copied,
      outputBytes: outBytes,
      warnings,
      configHash,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    if (sink) await sink.abort().catch(() => {});
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
    for (const s of inputs.all) await s.close().catch(() => {});
  }
}
