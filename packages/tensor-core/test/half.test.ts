import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bf16ToF32,
  bf16ToNumber,
  f16ToF32,
  f16ToNumber,
  f32ToBf16,
  f32ToF16,
  f64ToBf16,
  f64ToF16,
  numberToBf16,
  numberToF16,
  openSafetensors,
  Rng,
} from "../src/index.js";

// Independent reference: decode every 16-bit pattern with plain arithmetic (no bit tricks), sort the finite
// values, and round a double by locating its neighbours and choosing the nearest (ties -> even pattern).

function refDecodeF16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function refDecodeBf16(b: number): number {
  const s = b & 0x8000 ? -1 : 1;
  const e = (b >> 7) & 0xff;
  const m = b & 0x7f;
  if (e === 0xff) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * m * 2 ** -133;
  return s * (1 + m / 128) * 2 ** (e - 127);
}

interface RefTable {
  values: Float64Array; // ascending, finite, non-negative magnitudes for patterns 0..maxFinite
  maxFinite: number; // bits of the largest finite positive value
}

function refTable(decode: (b: number) => number, infBits: number): RefTable {
  const values = new Float64Array(infBits);
  for (let b = 0; b < infBits; b++) values[b] = decode(b);
  return { values, maxFinite: infBits - 1 };
}

const F16 = refTable(refDecodeF16, 0x7c00);
const BF16 = refTable(refDecodeBf16, 0x7f80);

/** Correctly rounded (nearest, ties to even) 16-bit pattern of a double; NaN -> any NaN pattern (checked separately). */
function refRound(x: number, t: RefTable, infBits: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | infBits;
  const v = t.values;
  // Overflow threshold: halfway between max finite and the next (virtual) step 2 * max - prev... use the ulp.
  const max = v[t.maxFinite];
  const ulp = max - v[t.maxFinite - 1];
  if (a >= max + ulp / 2) return sign | infBits;
  // Binary search for the largest pattern with value <= a.
  let lo = 0;
  let hi = t.maxFinite;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (v[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  if (v[lo] === a || lo === t.maxFinite) return sign | lo;
  const dLo = a - v[lo];
  const dHi = v[lo + 1] - a;
  if (dLo < dHi) return sign | lo;
  if (dHi < dLo) return sign | (lo + 1);
  return sign | (lo % 2 === 0 ? lo : lo + 1);
}

const isNaN16F = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isNaN16B = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

describe("F16 / BF16 decode is exact", () => {
  it("decodes all 65536 patterns of both formats like plain arithmetic", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f16 = f16ToF32(all);
    const bf16 = bf16ToF32(all);
    for (let b = 0; b < 65536; b++) {
      const rf = refDecodeF16(b);
      const rb = refDecodeBf16(b);
      if (Number.isNaN(rf)) expect(Number.isNaN(f16[b])).toBe(true);
      else if (!Object.is(f16[b], rf)) throw new Error(`F16 ${b.toString(16)}: ${f16[b]} != ${rf}`);
      if (Number.isNaN(rb)) expect(Number.isNaN(bf16[b])).toBe(true);
      else if (!Object.is(bf16[b], rb)) throw new Error(`BF16 ${b.toString(16)}: ${bf16[b]} != ${rb}`);
      if (!Object.is(f16ToNumber(b), f16[b]) && !Number.isNaN(rf))
        throw new Error("scalar F16 decode differs");
      if (!Object.is(bf16ToNumber(b), bf16[b]) && !Number.isNaN(rb))
        throw new Error("scalar BF16 decode differs");
    }
  });
});

describe("decode -> encode is the identity on all 65536 patterns", () => {
  for (const [name, dec, enc, enc64, isNaN16, quiet] of [
    ["F16", f16ToF32, f32ToF16, f64ToF16, isNaN16F, 0x0200],
    ["BF16", bf16ToF32, f32ToBf16, f64ToBf16, isNaN16B, 0x0040],
  ] as const) {
    it(`${name}: every non-NaN pattern round-trips exactly; NaNs stay NaN, sign kept, made quiet`, () => {
      const all = new Uint16Array(65536).map((_, i) => i);
      const f = dec(all);
      const back32 = enc(f);
      const back64 = enc64(Float64Array.from(f));
      for (let b = 0; b < 65536; b++) {
        for (const back of [back32, back64]) {
          if (isNaN16(b)) {
            if (!isNaN16(back[b]))
              throw new Error(`${name} NaN ${b.toString(16)} -> ${back[b].toString(16)}`);
            expect(back[b] & 0x8000).toBe(b & 0x8000);
            expect(back[b] & quiet).toBe(quiet);
            // Quiet NaNs keep their payload exactly.
            if (b & quiet) expect(back[b]).toBe(b);
          } else if (back[b] !== b) {
            throw new Error(`${name} ${b.toString(16)} -> ${back[b].toString(16)}`);
          }
        }
      }
    });
  }
});

function edgeFloats(): number[] {
  const out: number[] = [
    0,
    -0,
    Infinity,
    -Infinity,
    65504,
    65519.99,
    65520,
    65536,
    -65520,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
  ];
  out.push(
    2 ** -14,
    2 ** -14 - 2 ** -25,
    2 ** -126,
    2 ** -133,
    2 ** -134,
    1.5 * 2 ** -134,
    2 ** -149,
    3.4e38,
    3.3961e38,
  );
  out.push(
    3.39617e38,
    3.3895313892515355e38,
    1 + 2 ** -8,
    1 + 2 ** -9,
    1 + 3 * 2 ** -9,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
  );
  // Exact midpoints between neighbouring 16-bit values and just around them.
  for (const t of [F16, BF16]) {
    for (let b = 0; b < t.maxFinite; b += 97) {
      const mid = (t.values[b] + t.values[b + 1]) / 2;
      out.push(mid, -mid, mid * (1 + 2 ** -40), mid * (1 - 2 ** -40));
    }
  }
  return out;
}

describe("encode matches a float64 reference rounding", () => {
  const rng = new Rng(2024);
  const randoms: number[] = [];
  for (let i = 0; i < 20000; i++) {
    // Log-uniform magnitudes over the whole range, random sign.
    const e = rng.uniform() * 300 - 150;
    randoms.push((rng.uniform() < 0.5 ? -1 : 1) * 2 ** e * (1 + rng.uniform()));
  }
  const values = [...edgeFloats(), ...randoms];

  it("F32 -> F16 / BF16 (inputs rounded to float32 first)", () => {
    const f32 = Float32Array.from(values);
    const h = f32ToF16(f32);
    const b = f32ToBf16(f32);
    for (let i = 0; i < f32.length; i++) {
      const want16 = refRound(f32[i], F16, 0x7c00);
      const wantB = refRound(f32[i], BF16, 0x7f80);
      if (h[i] !== want16)
        throw new Error(`F16(${f32[i]}) = ${h[i].toString(16)}, want ${want16.toString(16)}`);
      if (b[i] !== wantB)
        throw new Error(`BF16(${f32[i]}) = ${b[i].toString(16)}, want ${wantB.toString(16)}`);
    }
  });

  it("F64 -> F16 / BF16 round once (no double rounding through float32)", () => {
    const f64 = Float64Array.from(values);
    const h = f64ToF16(f64);
    const b = f64ToBf16(f64);
    for (let i = 0; i < f64.length; i++) {
      const want16 = refRound(f64[i], F16, 0x7c00);
      const wantB = refRound(f64[i], BF16, 0x7f80);
      if (h[i] !== want16)
        throw new Error(`F16(${f64[i]}) = ${h[i].toString(16)}, want ${want16.toString(16)}`);
      if (b[i] !== wantB)
        throw new Error(`BF16(${f64[i]}) = ${b[i].toString(16)}, want ${wantB.toString(16)}`);
      expect(numberToF16(f64[i])).toBe(want16);
      expect(numberToBf16(f64[i])).toBe(wantB);
    }
  });

  it("a value just above a BF16 midpoint that float32 would round onto the midpoint still rounds up", () => {
    // 1 + 2^-8 is the midpoint between 1 and the next bfloat16; + 2^-30 is lost in float32 (ties to even -> 1).
    const x = 1 + 2 ** -8 + 2 ** -30;
    expect(Math.fround(x)).toBe(1 + 2 ** -8);
    expect(numberToBf16(x)).toBe(0x3f81);
    expect(f32ToBf16(Float32Array.of(x))[0]).toBe(0x3f80);
  });

  it("NaN stays NaN and quiet for any payload and sign (property)", () => {
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffff }), fc.boolean(), (payload, neg) => {
        bits[0] = (neg ? 0x80000000 : 0) | 0x7f800000 | payload;
        const h = f32ToF16(f)[0];
        const b = f32ToBf16(f)[0];
        return (
          isNaN16F(h) &&
          isNaN16B(b) &&
          (h & 0x200) !== 0 &&
          (b & 0x40) !== 0 &&
          (h >> 15 === 1) === neg &&
          (b >> 15 === 1) === neg
        );
      }),
    );
  });

  it("encoding is monotone (property)", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), fc.float({ noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const x = f16ToF32(f32ToF16(Float32Array.of(lo, hi)));
        const y = bf16ToF32(f32ToBf16(Float32Array.of(lo, hi)));
        return x[0] <= x[1] && y[0] <= y[1];
      }),
    );
  });
});

describe("array codecs on unaligned views and odd lengths", () => {
  it("give the same results as on fresh arrays (pairwise fast path vs scalar path)", () => {
    const rng = new Rng(8);
    for (const n of [0, 1, 2, 3, 7, 64, 101]) {
      const f = Float32Array.from({ length: n }, () => rng.normal() * 100);
      const want = f32ToBf16(f);
      const big = new Uint16Array(n + 1);
      const odd = big.subarray(1); // byteOffset 2: not 4-aligned
      expect(Array.from(f32ToBf16(f, odd))).toEqual(Array.from(want));
      const back = bf16ToF32(want);
      expect(Array.from(bf16ToF32(odd))).toEqual(Array.from(back));
      expect(Array.from(back)).toEqual(Array.from(want, (b) => bf16ToNumber(b)));
      const want16 = f32ToF16(f);
      expect(Array.from(f32ToF16(f, odd))).toEqual(Array.from(want16));
      expect(Array.from(want16)).toEqual(Array.from(f, (x) => numberToF16(x)));
      expect(Array.from(f16ToF32(odd))).toEqual(Array.from(want16, (h) => f16ToNumber(h)));
    }
  });
});

describe("F16 encode matches NumPy's independent implementation", () => {
  it("f32ToF16 and f64ToF16 equal numpy astype(float16) bit for bit on 9451 edge/tie/random values", async () => {
    // Fixture and generator: test/fixtures/numpy-f16.safetensors, test/fixtures/gen_numpy_f16.py (numpy 1.24).
    const f = await openSafetensors(
      fileURLToPath(new URL("fixtures/numpy-f16.safetensors", import.meta.url)),
    );
    try {
      expect(f.metadata?.generator).toBe("gen_numpy_f16.py");
      const f64 = (await f.read("f64")).data as Float64Array;
      const f32 = (await f.read("f32")).data as Float32Array;
      expect(Array.from(f32)).toEqual(Array.from(Float32Array.from(f64)));
      for (const [ours, name] of [
        [f64ToF16(f64), "f16_from_f64"],
        [f32ToF16(f32), "f16_from_f32"],
      ] as const) {
        const theirs = (await f.read(name)).data as Uint16Array;
        let compared = 0;
        for (let i = 0; i < theirs.length; i++) {
          if (isNaN16F(theirs[i])) {
            // NumPy keeps a NaN's truncated payload without setting the quiet bit; we set it. Both are NaN.
            expect(isNaN16F(ours[i])).toBe(true);
            expect(ours[i] & 0x8000).toBe(theirs[i] & 0x8000);
          } else if (ours[i] !== theirs[i]) {
            throw new Error(
              `${name}[${i}] (${f64[i]}): ours ${ours[i].toString(16)}, numpy ${theirs[i].toString(16)}`,
            );
          } else compared++;
        }
        expect(compared).toBeGreaterThan(9000);
      }
    } finally {
      await f.close();
    }
  });
});
