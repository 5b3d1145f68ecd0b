// The WebAssembly SIMD kernels of simd.wat: instantiated once, on first use, from the bytes in
// simd-wasm.ts. Where WebAssembly or its SIMD extension is missing (the module fails to compile),
// callers fall back to their JavaScript loops, which give the same bits.
//
// Memory layout (the module's 4 fixed pages, never grown, so the views below stay valid):
//   [0, 112 KiB)    dense linear merge: accumulator, base and model chunks (float32), 16-bit staging
//   [128, 176 KiB)  codec chunks: float32 and 16-bit staging for bf16ToF32 / f32ToBf16
// The two areas are separate because a merge's rounding hook may call the codecs on merge chunks.

import { SIMD_WASM_BASE64 } from "./simd-wasm.js";

/** Elements per chunk of every kernel call. */
export const SIMD_CHUNK = 8192;

// The few WebAssembly JS-API members used (the project's TypeScript libs do not declare them).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

interface Exports {
  memory: { readonly buffer: ArrayBuffer };
  bf16_to_f32(src: number, dst: number, n: number): void;
  f32_to_bf16(src: number, dst: number, n: number): void;
  axpy_delta(acc: number, m: number, b: number, w: number, n: number): void;
  add_scaled(acc: number, b: number, s: number, n: number): void;
  add_delta_bf16(acc: number, m: number, b: number, n: number): void;
  f16_to_f32(src: number, dst: number, n: number): void;
  f32_to_f16(src: number, dst: number, n: number): void;
}

export interface SimdKernels extends Exports {
  /** Byte offsets of the regions (see the layout above). */
  readonly at: {
    readonly acc: number;
    readonly base: number;
    readonly model: number;
    readonly half: number;
    readonly codecF32: number;
    readonly codecHalf: number;
  };
  /** Full-chunk views of the regions. */
  readonly acc: Float32Array;
  readonly base: Float32Array;
  readonly model: Float32Array;
  readonly half: Uint16Array;
  readonly codecF32: Float32Array;
  readonly codecHalf: Uint16Array;
}

let kernels: SimdKernels | null | undefined;
let enabled = true;

function instantiate(): SimdKernels | null {
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm === undefined) return null;
    const bytes = Uint8Array.from(atob(SIMD_WASM_BASE64), (c) => c.charCodeAt(0));
    const ex = new wasm.Instance(new wasm.Module(bytes)).exports as Exports;
    const C = SIMD_CHUNK;
    const at = {
      acc: 0,
      base: 4 * C,
      model: 8 * C,
      half: 12 * C,
      codecF32: 128 << 10,
      codecHalf: (128 << 10) + 4 * C,
    };
    const buf = ex.memory.buffer;
    return {
      ...ex,
      memory: ex.memory,
      at,
      acc: new Float32Array(buf, at.acc, C),
      base: new Float32Array(buf, at.base, C),
      model: new Float32Array(buf, at.model, C),
      half: new Uint16Array(buf, at.half, C),
      codecF32: new Float32Array(buf, at.codecF32, C),
      codecHalf: new Uint16Array(buf, at.codecHalf, C),
    };
  } catch {
    // No WebAssembly SIMD here (compile or validation failed): the JavaScript paths are used.
    return null;
  }
}

/** The SIMD kernels, or undefined when WebAssembly SIMD is unavailable or disabled. */
export function simdKernels(): SimdKernels | undefined {
  if (!enabled) return undefined;
  if (kernels === undefined) kernels = instantiate();
  return kernels ?? undefined;
}

/** Whether the WebAssembly SIMD kernels are available (and enabled). */
export function simdAvailable(): boolean {
  return simdKernels() !== undefined;
}

/**
 * Turns the WebAssembly SIMD kernels off or back on (tests compare both paths; results are identical
 * either way). Returns the previous setting.
 */
export function setSimdEnabled(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}
