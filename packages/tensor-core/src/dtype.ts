// The safetensors dtype vocabulary, element sizes and the typed array each dtype is stored in.

/** Every dtype string the safetensors format defines (the reference `Dtype` enum, declaration order). */
export const DTYPES = [
  "BOOL",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "F8_E4M3FNUZ",
  "F8_E5M2FNUZ",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "C64",
  "F64",
  "I64",
  "U64",
] as const;

/** A safetensors element type. */
export type DType = (typeof DTYPES)[number];

/** The typed array holding a tensor's elements (F16/BF16 as raw Uint16Array bits, F8/F4/F6 as raw bytes). */
export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** Storage typed array for each dtype. */
export interface DTypeArrayMap {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
  F8_E5M2: Uint8Array;
  F8_E4M3: Uint8Array;
  F8_E8M0: Uint8Array;
  F8_E4M3FNUZ: Uint8Array;
  F8_E5M2FNUZ: Uint8Array;
  C64: Float32Array;
  F4: Uint8Array;
  F6_E2M3: Uint8Array;
  F6_E3M2: Uint8Array;
}

/** The typed-array constructor a dtype is stored in. */
export type ArrayCtor = {
  new (length: number): TensorData;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TensorData;
  readonly BYTES_PER_ELEMENT: number;
};

/** How a dtype is stored and what it means. */
export interface DTypeInfo {
  readonly dtype: DType;
  /** Bits per element (4 and 6 for the packed sub-byte floats). */
  readonly bits: number;
  /** Storage typed array constructor. */
  readonly array: ArrayCtor;
  /** Typed-array elements per tensor element (2 for C64's interleaved real/imaginary parts, else 1). */
  readonly lanes: number;
  /** float: IEEE-like floats with a codec here; int/uint/bool: integers; raw: stored bytes, no numeric codec. */
  readonly kind: "float" | "int" | "uint" | "bool" | "raw";
  /** Position in the reference `Dtype` enum; the reference writer orders tensors by descending rank. */
  readonly rank: number;
}

const CTORS: Record<DType, [ArrayCtor, number, number, DTypeInfo["kind"]]> = {
  BOOL: [Uint8Array, 8, 1, "bool"],
  F4: [Uint8Array, 4, 1, "raw"],
  F6_E2M3: [Uint8Array, 6, 1, "raw"],
  F6_E3M2: [Uint8Array, 6, 1, "raw"],
  U8: [Uint8Array, 8, 1, "uint"],
  I8: [Int8Array, 8, 1, "int"],
  F8_E5M2: [Uint8Array, 8, 1, "float"],
  F8_E4M3: [Uint8Array, 8, 1, "float"],
  F8_E8M0: [Uint8Array, 8, 1, "raw"],
  F8_E4M3FNUZ: [Uint8Array, 8, 1, "raw"],
  F8_E5M2FNUZ: [Uint8Array, 8, 1, "raw"],
  I16: [Int16Array, 16, 1, "int"],
  U16: [Uint16Array, 16, 1, "uint"],
  F16: [Uint16Array, 16, 1, "float"],
  BF16: [Uint16Array, 16, 1, "float"],
  I32: [Int32Array, 32, 1, "int"],
  U32: [Uint32Array, 32, 1, "uint"],
  F32: [Float32Array, 32, 1, "float"],
  C64: [Float32Array, 64, 2, "raw"],
  F64: [Float64Array, 64, 1, "float"],
  I64: [BigInt64Array as unknown as ArrayCtor, 64, 1, "int"],
  U64: [BigUint64Array as unknown as ArrayCtor, 64, 1, "uint"],
};

const INFO = new Map<string, DTypeInfo>(
  DTYPES.map((dtype, rank) => {
    const [array, bits, lanes, kind] = CTORS[dtype];
    return [dtype, Object.freeze({ dtype, bits, array, lanes, kind, rank })];
  }),
);

/** True when `s` is one of the safetensors dtype strings (case-sensitive, like the reference reader). */
export function isDType(s: unknown): s is DType {
  return typeof s === "string" && INFO.has(s);
}

/** torch and numpy names of the float dtypes (lower case, without `torch.`). */
const DTYPE_NAMES: Readonly<Record<string, DType>> = {
  bfloat16: "BF16",
  float16: "F16",
  half: "F16",
  fp16: "F16",
  fp32: "F32",
  fp64: "F64",
  float32: "F32",
  float: "F32",
  float64: "F64",
  double: "F64",
};

/**
 * The dtype a user names: a safetensors name in any case (`BF16`, `bf16`) or a torch / numpy float name
 * (`bfloat16`, `torch.float16`, `half`, `double`); undefined for anything else.
 */
export function dtypeFromName(name: string): DType | undefined {
  const bare = name.replace(/^torch\./, "");
  const d = DTYPE_NAMES[bare.toLowerCase()] ?? bare.toUpperCase();
  return isDType(d) ? d : undefined;
}

/** Storage facts of a dtype. */
export function dtypeInfo(dtype: DType): DTypeInfo {
  const info = INFO.get(dtype);
  if (info === undefined) throw new TypeError(`unknown dtype ${JSON.stringify(dtype)}`);
  return info;
}

/** Bytes per element; fractional (0.5, 0.75) for the packed sub-byte dtypes. */
export function elementSize(dtype: DType): number {
  return dtypeInfo(dtype).bits / 8;
}

/**
 * Bytes of a tensor of `numel` elements, or -1 when the bit count is not a whole number of bytes or does not fit
 * a safe integer (the reference reader rejects both).
 */
export function byteLengthOf(dtype: DType, numel: number): number {
  const bits = numel * dtypeInfo(dtype).bits;
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) return -1;
  return bits / 8;
}

/** Product of a shape; -1 if a dimension is not a non-negative safe integer or the product overflows 2^53. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return -1;
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

/** True for dtypes whose values convert to/from numbers here (all but C64, the FNUZ/E8M0 floats and F4/F6). */
export function isNumericDType(dtype: DType): boolean {
  return dtypeInfo(dtype).kind !== "raw";
}

/** True for floating-point dtypes with a codec (F64, F32, F16, BF16, F8_E4M3, F8_E5M2). */
export function isFloatDType(dtype: DType): boolean {
  return dtypeInfo(dtype).kind === "float";
}
