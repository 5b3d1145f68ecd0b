// PyTorch checkpoint → safetensors, one tensor in memory at a time: each tensor is read (views gathered
// into row-major order), optionally re-encoded to a float dtype, and written to its place in the output
// shards. Shards are written under temporary names and renamed when all are complete (index last), so an
// interrupted conversion leaves no final file. Tensors that shared a storage in the pickle (tied weights)
// are written as separate copies: safetensors has no aliasing.

import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type DType, dtypeInfo, isFloatDType, numelOf } from "../dtype.js";
import type { TensorSpec } from "../safetensors/header.js";
import { ShardedSafetensorsWriter } from "../safetensors/sharded.js";
import { tempPathFor } from "../safetensors/writer.js";
import { Tensor } from "../tensor.js";
import { openPytorchCheckpoint, PYTORCH_INDEX_FILE } from "./checkpoint.js";
import { PytorchError } from "./errors.js";

const FLOAT_TARGETS: ReadonlySet<DType> = new Set(["F64", "F32", "F16", "BF16"]);

export interface PytorchConvertOptions {
  /** Re-encode floating-point tensors to this dtype (F64, F32, F16 or BF16); default: keep each dtype. */
  readonly dtype?: DType;
  /** Maximum data bytes per output shard (default 5 GB, like transformers and mergekit). */
  readonly maxShardSize?: number;
  /** The state dict's key inside a checkpoint that nests one (e.g. "state_dict"). */
  readonly entry?: string;
  /** Write into a non-empty output directory (replacing files of the same names); default false. */
  readonly overwrite?: boolean;
  /**
   * Copy the input directory's other files (config.json, tokenizer, generation config, …) next to the
   * converted weights, so the output is a complete model directory; default true for directory inputs.
   */
  readonly copyFiles?: boolean;
  /** Called after each tensor with bytes written so far, the total, and the tensor's name. */
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
}

export interface PytorchConvertResult {
  readonly tensors: number;
  /** Safetensors files written, and the index (null for a single file). */
  readonly files: readonly string[];
  readonly indexFile: string | null;
  readonly totalSize: number;
  /** Other files copied from the input directory. */
  readonly copied: readonly string[];
  /** Names whose tensors shared a storage in the input (each now its own copy). */
  readonly sharedStorages: readonly (readonly string[])[];
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Files of a model directory that belong to the weights (not copied next to the converted ones). */
function isWeightFile(name: string): boolean {
  return (
    name.endsWith(".bin") ||
    name.endsWith(".pt") ||
    name.endsWith(".pth") ||
    name.endsWith(".safetensors") ||
    name === PYTORCH_INDEX_FILE ||
    name.endsWith(".index.json")
  );
}

/**
 * Converts a PyTorch checkpoint (`pytorch_model.bin`, a sharded index, or a model directory holding
 * either) into a safetensors model directory `outDir`: `model.safetensors`, or
 * `model-0000i-of-0000N.safetensors` plus `model.safetensors.index.json`.
 */
export async function convertPytorchToSafetensors(
  input: string,
  outDir: string,
  options: PytorchConvertOptions = {},
): Promise<PytorchConvertResult> {
  if (options.dtype !== undefined && !FLOAT_TARGETS.has(options.dtype)) {
    throw new PytorchError(
      "UNSUPPORTED",
      outDir,
      `cannot convert to ${options.dtype}; targets are F64, F32, F16, BF16`,
    );
  }
  const inputIsDir = await isDirectory(input);
  const inputDir = resolve(inputIsDir ? input : dirname(input));
  const out = resolve(outDir);
  if (out === inputDir || out === resolve(input)) {
    throw new PytorchError(
      "UNSUPPORTED",
      outDir,
      "the output would be written into the input checkpoint's directory",
    );
  }
  if (!options.overwrite && (await isDirectory(out)) && (await readdir(out)).length > 0) {
    throw new PytorchError(
      "UNSUPPORTED",
      outDir,
      "output directory is not empty (pass overwrite to write into it)",
    );
  }
  const reader = await openPytorchCheckpoint(input, { entry: options.entry });
  try {
    const names = reader.names();
    const specs: TensorSpec[] = names.map((name) => {
      const info = reader.info(name) as { dtype: DType; shape: readonly number[] };
      const dtype = options.dtype !== undefined && isFloatDType(info.dtype) ? options.dtype : info.dtype;
      return { name, dtype, shape: info.shape };
    });
    await mkdir(out, { recursive: true });
    const writer = await ShardedSafetensorsWriter.create(out, specs, {
      format: "pt",
      maxShardSize: options.maxShardSize,
    });
    let done = 0;
    const total = writer.totalSize;
    try {
      for (const spec of specs) {
        const from = (reader.info(spec.name) as { dtype: DType }).dtype;
        let bytes = await reader.readBytes(spec.name);
        if (from !== spec.dtype) bytes = Tensor.fromBytes(from, spec.shape, bytes).to(spec.dtype).bytes();
        if (bytes.byteLength > 0) await writer.writeChunk(spec.name, bytes);
        done += Math.ceil((numelOf(spec.shape) * dtypeInfo(spec.dtype).bits) / 8);
        options.onProgress?.(done, total, spec.name);
      }
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const written = await writer.finish();
    const copied: string[] = [];
    if (options.copyFiles ?? inputIsDir) {
      for (const entry of await readdir(inputDir, { withFileTypes: true })) {
        if (!entry.isFile() || isWeightFile(entry.name)) continue;
        const target = join(out, entry.name);
        const tmp = tempPathFor(target);
        try {
          await copyFile(join(inputDir, entry.name), tmp);
          await rename(tmp, target);
        } catch (cause) {
          await rm(tmp, { force: true });
          throw new PytorchError("READ", join(inputDir, entry.name), `cannot copy to ${target}`, undefined, {
            cause,
          });
        }
        copied.push(entry.name);
      }
    }
    return {
      tensors: names.length,
      files: written.files,
      indexFile: written.indexFile,
      totalSize: written.totalSize,
      copied,
      sharedStorages: reader.sharedStorages(),
    };
  } finally {
    await reader.close();
  }
}
