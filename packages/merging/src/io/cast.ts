// mergekit's `dtype`: inputs are cast to the compute dtype on load, and the method's result is in that
// dtype too. We compute in float32 and round values to the compute dtype at those two points, which
// reproduces the rounding of the inputs and of the result (not every intermediate of a bf16 torch op).

import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "@x/tensor-core";
import type { MergeDType } from "../config/index.js";

let scratch = new Uint16Array(0);

function halfScratch(n: number): Uint16Array {
  if (scratch.length < n) scratch = new Uint16Array(n);
  return scratch.length === n ? scratch : scratch.subarray(0, n);
}

/** Rounds float32 values in place to what `dtype` can hold (BF16/F16: nearest-even; I64: toward zero). */
export function castToComputeDType(data: Float32Array, dtype: MergeDType): Float32Array {
  switch (dtype) {
    case "F32":
      return data;
    case "BF16":
      return bf16ToF32(f32ToBf16(data, halfScratch(data.length)), data);
    case "F16":
      return f16ToF32(f32ToF16(data, halfScratch(data.length)), data);
    case "I64":
      for (let i = 0; i < data.length; i++) data[i] = Math.trunc(data[i]!);
      return data;
  }
}
