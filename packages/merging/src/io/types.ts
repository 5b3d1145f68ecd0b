// The narrow views of checkpoints the merge pipeline needs. Adapters in this folder implement them over
// @x/tensor-core's safetensors reader and sharded writer; the pipeline itself never touches files.

/** Header facts about one stored tensor (no data read). */
export interface StoredTensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** One input checkpoint (a model directory or a single safetensors file), read tensor by tensor. */
export interface TensorSource {
  /** The path the user gave (for messages). */
  readonly label: string;
  /** The resolved path of the directory or file. */
  readonly path: string;
  /** Tensor names in storage order. */
  names(): readonly string[];
  info(name: string): StoredTensorInfo | undefined;
  /**
   * Decodes one tensor to float32 (BF16/F16 exactly, F64 rounded): into `out` (exactly numel long) when
   * given, else into a fresh array the caller owns.
   */
  readFloat32(name: string, out?: Float32Array): Promise<Float32Array>;
  /** The stored bytes of one tensor, unchanged. */
  readBytes(name: string): Promise<Uint8Array>;
  /** The stored bytes of one tensor into `target` (exactly its stored size); returns `target`. */
  readBytesInto(name: string, target: Uint8Array): Promise<Uint8Array>;
  /**
   * Whether `readBytesRangeInto` reads only the range from the file (safetensors); otherwise it reads
   * the whole tensor each call, so callers that read a tensor piece by piece (the fused fast paths)
   * take the general path instead.
   */
  readonly rangedReads: boolean;
  /** Stored bytes [byteOffset, byteOffset + target.byteLength) of one tensor into `target`. */
  readBytesRangeInto(name: string, byteOffset: number, target: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A tensor the output will hold (declared up front: shards are planned before any data is written). */
export interface OutputTensorSpec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** Where merged tensors go (any order); `finish` makes the result visible. */
export interface TensorSink {
  /** Encodes float32 values to the declared dtype and writes them. */
  add(name: string, data: Float32Array): Promise<void>;
  /** Copies a stored tensor's bytes unchanged (its dtype must be the declared one); `sourceName` defaults to `name`. */
  addRaw(name: string, source: TensorSource, sourceName?: string): Promise<void>;
  /** Writes bytes already encoded in the declared dtype. */
  addBytes(name: string, bytes: Uint8Array): Promise<void>;
  /** Writes the next encoded bytes of a tensor (a tensor's chunks in order, together its full size). */
  addBytesChunk(name: string, bytes: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}
