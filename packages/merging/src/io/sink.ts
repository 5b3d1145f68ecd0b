// The output: a sharded safetensors writer from @x/tensor-core. Shards are planned from the declared
// specs (mergekit's rule: fill a shard until the next tensor would exceed the limit) and each tensor is
// written straight to its offset, so no shard is ever buffered in memory.

import { type DType, f32ToBf16, f32ToF16, ShardedSafetensorsWriter, type TensorData } from "@x/tensor-core";
import type { OutputTensorSpec, TensorSink } from "./types.js";

export interface ShardedSinkOptions {
  readonly maxShardBytes: number;
  /** String metadata for every shard (`format: "pt"` is always written). */
  readonly metadata?: Readonly<Record<string, string>>;
}

let half = new Uint16Array(0);

/**
 * Float32 values encoded as `dtype` storage. BF16/F16 results live in a shared scratch buffer that the
 * next call overwrites: copy them to keep them.
 */
export function encodeFloat32(dtype: string, data: Float32Array): TensorData {
  switch (dtype) {
    case "F32":
      return data;
    case "BF16":
    case "F16": {
      if (half.length < data.length) half = new Uint16Array(data.length);
      const out = half.subarray(0, data.length);
      return dtype === "BF16" ? f32ToBf16(data, out) : f32ToF16(data, out);
    }
    case "F64":
      return Float64Array.from(data);
    case "I64": {
      const out = new BigInt64Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = BigInt(Math.trunc(data[i]!));
      return out;
    }
    default:
      throw new RangeError(`cannot encode float32 values as ${dtype}`);
  }
}

/** Creates the output files (temporary names) in `dir` for the declared tensors. */
export async function createShardedSink(
  dir: string,
  specs: readonly OutputTensorSpec[],
  options: ShardedSinkOptions,
): Promise<TensorSink & { readonly shardNames: readonly string[] }> {
  const writer = await ShardedSafetensorsWriter.create(
    dir,
    specs.map((s) => ({ name: s.name, dtype: s.dtype as DType, shape: [...s.shape] })),
    {
      maxShardSize: options.maxShardBytes,
      format: "pt",
      metadata: options.metadata,
      indexMetadata: options.metadata,
    },
  );
  const dtypeOf = new Map(specs.map((s) => [s.name, s.dtype]));
  return {
    shardNames: writer.shardNames,
    add: (name, data) => writer.write(name, encodeFloat32(dtypeOf.get(name) ?? "F32", data)),
    addRaw: async (name, source, sourceName = name) => writer.write(name, await source.readBytes(sourceName)),
    addBytes: (name, bytes) => writer.write(name, bytes),
    addBytesChunk: (name, bytes) => writer.writeChunk(name, bytes),
    finish: async () => {
      await writer.finish();
    },
    abort: () => writer.abort(),
  };
}
