// Decoders for the two common 8-bit floats (OCP FP8): E4M3 "fn" (bias 7, no infinities, S.1111.111 = NaN,
// max 448) and E5M2 (bias 15, IEEE-style Inf/NaN). Decoding is exact through 256-entry tables; encoding to
// FP8 is not provided (no writer in this project needs it).

let e4m3: Float32Array | undefined;
let e5m2: Float32Array | undefined;

function build(expBits: number, bias: number, ieeeSpecials: boolean): Float32Array {
  const manBits = 7 - expBits;
  const table = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const exp = (b >>> manBits) & ((1 << expBits) - 1);
    const man = b & ((1 << manBits) - 1);
    const expMax = (1 << expBits) - 1;
    let v: number;
    if (ieeeSpecials && exp === expMax) v = man === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    else if (!ieeeSpecials && exp === expMax && man === (1 << manBits) - 1) v = Number.NaN;
    else if (exp === 0) v = man * 2 ** (1 - bias - manBits);
    else v = (1 + man / (1 << manBits)) * 2 ** (exp - bias);
    table[b] = sign * v;
  }
  return table;
}

/** The 256 values of F8_E4M3 (e4m3fn) as float32. */
export function f8e4m3Table(): Float32Array {
  e4m3 ??= build(4, 7, false);
  return e4m3;
}

/** The 256 values of F8_E5M2 as float32. */
export function f8e5m2Table(): Float32Array {
  e5m2 ??= build(5, 15, true);
  return e5m2;
}
