// Streaming dtype conversion of a checkpoint: every floating-point tensor is re-encoded to the target dtype
// chunk by chunk (bounded memory whatever the tensor size); integer/bool/raw tensors are copied unchanged, as
// mergekit's `out_dtype` does. Output is one file (OUT ends in .safetensors) or a sharded directory.

import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type DType, dtypeInfo, isFloatDType, numelOf } from "../dtype.js";
import { SafetensorsError } from "../errors.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../half.js";
import { Tensor } from "../tensor.js";
import { type Checkpoint, openCheckpoint } from "./checkpoint.js";
import type { TensorSpec } from "./header.js";
import type { TensorReader } from "./reader.js";
import { ShardedSafetensorsWriter } from "./sharded.js";
import { SafetensorsWriter } from "./writer.js";

const ENCODABLE: ReadonlySet<DType> = new Set(["F64", "F32", "F16", "BF16"]);

export interface ConvertOptions {
  /** Target dtype for floating-point tensors: F64, F32, F16 or BF16. */
  readonly dtype: DType;
  /** Maximum data bytes per output shard when writing a directory (default 5 GB). */
  readonly maxShardSize?: number;
  /** Bytes read per step (default 16 MiB); peak memory is a small multiple of this. */
  readonly chunkBytes?: number;
  /** Called after each chunk with bytes read so far and the total to read. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ConvertResult {
  readonly tensors: number;
  readonly converted: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
}

/** The dtype a tensor gets in the output. */
function targetOf(dtype: DType, target: DType): DType {
  return isFloatDType(dtype) ? target : dtype;
}

interface Sink {
  writeChunk(name: string, chunk: Uint8Array): Promise<void>;
  abort(): Promise<void>;
}

/** Converts one chunk of `from` elements to `to`, into `out` for the common float paths (no allocation). */
function convertChunk(from: DType, to: DType, chunk: Uint8Array, out: ArrayBuffer): Uint8Array {
  const count = chunk.byteLength / dtypeInfo(from).array.BYTES_PER_ELEMENT;
  if (from === "F32" && (to === "BF16" || to === "F16")) {
    const src = new Float32Array(chunk.buffer, chunk.byteOffset, count);
    const dst = new Uint16Array(out, 0, count);
    (to === "BF16" ? f32ToBf16 : f32ToF16)(src, dst);
    return new Uint8Array(out, 0, count * 2);
  }
  if ((from === "BF16" || from === "F16") && to === "F32") {
    const src = new Uint16Array(chunk.buffer, chunk.byteOffset, count);
    const dst = new Float32Array(out, 0, count);
    (from === "BF16" ? bf16ToF32 : f16ToF32)(src, dst);
    return new Uint8Array(out, 0, count * 4);
  }
  return Tensor.fromBytes(from, [count], chunk).to(to).bytes();
}

/** Converts `input` (file, model dir or index) into `output` (a .safetensors file or a directory). */
export async function convertCheckpoint(
  input: string,
  output: string,
  options: ConvertOptions,
): Promise<ConvertResult> {
  if (!ENCODABLE.has(options.dtype)) {
    throw new SafetensorsError(
      "WRITE",
      output,
      `cannot convert to ${options.dtype}; targets are F64, F32, F16, BF16`,
    );
  }
  const reader: TensorReader = await openCheckpoint(input);
  const inputs = (reader as Checkpoint).files.map((f) => resolve(f.path));
  const outResolved = resolve(output);
  if (inputs.some((p) => p === outResolved || dirname(p) === outResolved)) {
    await reader.close();
    throw new SafetensorsError(
      "WRITE",
      output,
      "output would overwrite the input checkpoint; choose another path",
    );
  }
  try {
    const names = reader.names();
    const specs: TensorSpec[] = names.map((name) => {
      const info = reader.info(name) as { dtype: DType; shape: readonly number[] };
      return { name, dtype: targetOf(info.dtype, options.dtype), shape: info.shape };
    });
    const metadata = { ...(reader.metadata ?? {}) };
    const format = metadata.format ?? "pt";
    delete metadata.format;
    const writeOptions = { metadata, format, maxShardSize: options.maxShardSize };
    let sink: Sink & { finish(): Promise<unknown> };
    if (output.endsWith(".safetensors")) {
      sink = await SafetensorsWriter.create(output, specs, writeOptions);
    } else {
      await mkdir(output, { recursive: true });
      sink = await ShardedSafetensorsWriter.create(output, specs, writeOptions);
    }
    let inputBytes = 0;
    let outputBytes = 0;
    for (const s of specs) {
      const info = reader.info(s.name) as { dtype: DType; shape: readonly number[] };
      const n = numelOf(info.shape);
      inputBytes += Math.ceil((n * dtypeInfo(info.dtype).bits) / 8);
      outputBytes += Math.ceil((n * dtypeInfo(s.dtype).bits) / 8);
    }
    let converted = 0;
    let done = 0;
    // One scratch buffer for every tensor: no fresh allocation (and page faults) per tensor.
    const scratch = new Uint8Array(Math.max(16, Math.min(options.chunkBytes ?? 16 << 20, 1 << 30)));
    const outScratch = new ArrayBuffer(scratch.byteLength * 4);
    try {
      for (const s of specs) {
        const from = (reader.info(s.name) as { dtype: DType }).dtype;
        if (from !== s.dtype) converted++;
        for await (const chunk of reader.readChunks(s.name, scratch.byteLength, scratch)) {
          if (from === s.dtype) {
            await sink.writeChunk(s.name, chunk);
          } else {
            await sink.writeChunk(s.name, convertChunk(from, s.dtype, chunk, outScratch));
          }
          done += chunk.byteLength;
          options.onProgress?.(done, inputBytes);
        }
      }
      await sink.finish();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    return { tensors: specs.length, converted, inputBytes, outputBytes };
  } finally {
    await reader.close();
  }
}
