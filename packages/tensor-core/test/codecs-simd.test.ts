import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  bf16ToF32,
  bf16ToNumber,
  f16ToF32,
  f16ToNumber,
  f32ToBf16,
  f32ToF16,
  numberToBf16,
  numberToF16,
  Rng,
  type StoredFloats,
  setSimdEnabled,
  simdAvailable,
  weightedDeltaSum,
} from "../src/index.js";

afterEach(() => {
  setSimdEnabled(true);
});

// Both paths: WebAssembly SIMD (when this Node has it, which CI's does) and the JavaScript fallback.
const PATHS = [
  { name: "WebAssembly SIMD", simd: true },
  { name: "JavaScript", simd: false },
] as const;

/** Float32 bit patterns around every bfloat16 rounding case: each upper half with tie, near-tie and odd low halves. */
function bf16EdgePatterns(): Uint32Array {
  const lows = [0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xc000, 0xffff];
  const out = new Uint32Array(65536 * lows.length);
  let k = 0;
  for (let hi = 0; hi < 65536; hi++) for (const lo of lows) out[k++] = ((hi << 16) | lo) >>> 0;
  return out;
}

describe("WebAssembly SIMD codecs", () => {
  it("is available on this Node (the fast path is actually exercised)", () => {
    expect(simdAvailable()).toBe(true);
  });

  for (const path of PATHS) {
    it(`${path.name}: BF16 -> F32 decodes all 65536 patterns exactly (odd length, unaligned)`, () => {
      setSimdEnabled(path.simd);
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const store = new Uint16Array(65536 + 3);
      store.set(all.subarray(0, 65535), 1);
      for (const src of [all, store.subarray(1, 65536)]) {
        const bits = new Uint32Array(bf16ToF32(src).buffer);
        let wrong = 0;
        for (let i = 0; i < src.length; i++) if (bits[i] !== (src[i]! << 16) >>> 0) wrong++;
        expect(wrong).toBe(0);
      }
    });

    it(`${path.name}: F32 -> BF16 equals the scalar rounding on 458752 edge patterns incl. NaN and Inf`, () => {
      setSimdEnabled(path.simd);
      const pats = bf16EdgePatterns();
      const f = new Float32Array(pats.buffer);
      const got = f32ToBf16(f);
      const one = new Float32Array(1);
      const oneBits = new Uint32Array(one.buffer);
      for (let i = 0; i < pats.length; i++) {
        oneBits[0] = pats[i]!;
        const x = one[0]!;
        // NaN: sign and top payload bits kept, made quiet; else the scalar (reference-tested) rounding.
        const want = Number.isNaN(x) ? ((pats[i]! >>> 16) | 0x40) & 0xffff : numberToBf16(x);
        if (got[i] !== want) expect.fail(`pattern 0x${pats[i]!.toString(16)}: got 0x${got[i]!.toString(16)}`);
      }
    });

    it(`${path.name}: F16 -> F32 decodes all 65536 patterns like the scalar decode, NaN payloads included`, () => {
      setSimdEnabled(path.simd);
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const got = new Uint32Array(f16ToF32(all).buffer);
      const one = new Float32Array(1);
      const oneBits = new Uint32Array(one.buffer);
      let wrong = 0;
      for (let h = 0; h < 65536; h++) {
        const e = (h >> 10) & 0x1f;
        const m = h & 0x3ff;
        if (e === 0x1f) {
          // Inf / NaN: sign, all-ones exponent, payload in the top mantissa bits.
          if (got[h] !== (((h & 0x8000) << 16) | 0x7f800000 | (m << 13)) >>> 0) wrong++;
        } else {
          one[0] = f16ToNumber(h);
          if (got[h] !== oneBits[0]) wrong++;
        }
      }
      expect(wrong).toBe(0);
    });

    it(`${path.name}: F32 -> F16 equals the scalar rounding on 458752 edge patterns incl. subnormals, NaN, Inf`, () => {
      setSimdEnabled(path.simd);
      // Low halves around every F16 rounding position (13 dropped bits) and subnormal ties.
      const lows = [0x0000, 0x0fff, 0x1000, 0x1001, 0x2000, 0x3000, 0xffff];
      const pats = new Uint32Array(65536 * lows.length);
      let k = 0;
      for (let hi = 0; hi < 65536; hi++) for (const lo of lows) pats[k++] = ((hi << 16) | lo) >>> 0;
      const got = f32ToF16(new Float32Array(pats.buffer));
      const one = new Float32Array(1);
      const oneBits = new Uint32Array(one.buffer);
      let wrong = 0;
      for (let i = 0; i < pats.length; i++) {
        oneBits[0] = pats[i]!;
        const x = one[0]!;
        const abs = pats[i]! & 0x7fffffff;
        const sign = (pats[i]! >>> 16) & 0x8000;
        const want = Number.isNaN(x) ? sign | 0x7e00 | ((abs >>> 13) & 0x3ff) : numberToF16(x);
        if (got[i] !== want) wrong++;
      }
      expect(wrong).toBe(0);
    });

    it(`${path.name}: decode -> encode is the identity on all non-NaN BF16 patterns`, () => {
      setSimdEnabled(path.simd);
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const back = f32ToBf16(bf16ToF32(all));
      let wrong = 0;
      for (let i = 0; i < 65536; i++) if (!Number.isNaN(bf16ToNumber(i)) && back[i] !== i) wrong++;
      expect(wrong).toBe(0);
    });
  }
});

// The reference of weightedDeltaSum: the plain float32 JavaScript expression on whole arrays.
function reference(
  base: Float32Array,
  models: Float32Array[],
  w: number[],
  scale: number,
  round?: (c: Float32Array) => void,
): Float32Array {
  if (round) {
    round(base);
    for (const m of models) round(m);
  }
  const acc = new Float32Array(base.length);
  for (let i = 0; i < models.length; i++) {
    const m = models[i]!;
    for (let k = 0; k < acc.length; k++) acc[k] += w[i]! * Math.fround(m[k]! - base[k]!);
  }
  for (let k = 0; k < acc.length; k++) acc[k] = base[k]! + scale * acc[k]!;
  if (round) round(acc);
  return acc;
}

type Dt = "BF16" | "F16" | "F32";

function store(values: Float32Array, dtype: Dt): StoredFloats {
  if (dtype === "F32") return { dtype, data: Float32Array.from(values) };
  return { dtype, data: dtype === "BF16" ? f32ToBf16(values) : f32ToF16(values) };
}

function decoded(s: StoredFloats): Float32Array {
  if (s.dtype === "F32") return Float32Array.from(s.data);
  return s.dtype === "BF16" ? bf16ToF32(s.data) : f16ToF32(s.data);
}

function encoded(values: Float32Array, dtype: Dt): Uint8Array {
  const s = store(values, dtype);
  return new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength);
}

const dtArb = fc.constantFrom<Dt>("BF16", "F16", "F32");

describe("weightedDeltaSum (fused dense linear merge)", () => {
  for (const path of PATHS) {
    it(`${path.name}: bit-identical to the float32 expression for BF16 / F16 / F32 and mixed inputs (property)`, () => {
      fc.assert(
        fc.property(
          fc.record({
            n: fc.integer({ min: 0, max: 20000 }),
            models: fc.integer({ min: 1, max: 5 }),
            dtypes: fc.array(dtArb, { minLength: 7, maxLength: 7 }),
            seed: fc.integer({ min: 1, max: 1e9 }),
            scale: fc.double({ min: -3, max: 3, noNaN: true }),
            specials: fc.boolean(),
            // All BF16 (the SIMD path's single in-register kernel) a third of the time.
            allBf16: fc.integer({ min: 0, max: 2 }),
          }),
          ({ n, models, dtypes: drawn, seed, scale, specials, allBf16 }) => {
            setSimdEnabled(path.simd);
            const dtypes = allBf16 === 0 ? drawn.map((): Dt => "BF16") : drawn;
            const rng = new Rng(seed);
            const gen = (shift: number) =>
              Float32Array.from({ length: n }, (_, k) => {
                if (specials && k % 97 === 0) return [Infinity, -Infinity, 0, -0, 1e38, 6e-8][k % 6]!;
                return shift + 0.02 * rng.normal() + (k % 13 === 0 ? 5e-3 * rng.normal() : 0);
              });
            const base = store(gen(0.01), dtypes[0]!);
            const ms = Array.from({ length: models }, (_, i) => store(gen(0.01), dtypes[1 + i]!));
            // Weight 1 half the time (the SIMD path's fused BF16 add), else arbitrary.
            const w = Array.from({ length: models }, () =>
              rng.uniform() < 0.5 ? 1 : rng.uniform() * 2 - 0.5,
            );
            const outDt = dtypes[6]!;
            const out = store(new Float32Array(n), outDt);
            weightedDeltaSum(base, ms, w, scale, out);
            const want = reference(decoded(base), ms.map(decoded), w, scale);
            const got = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
            expect(Buffer.from(got).equals(Buffer.from(encoded(want, outDt)))).toBe(true);
          },
        ),
        { numRuns: 60 },
      );
    });

    it(`${path.name}: applies the rounding hook to every input and the result like whole-array rounding`, () => {
      setSimdEnabled(path.simd);
      const rng = new Rng(3);
      const n = 3 * 8192 + 17;
      const gen = () => Float32Array.from({ length: n }, () => 0.5 + rng.normal() * 0.1);
      const base = gen();
      const ms = [gen(), gen(), gen()];
      const w = [0.4, 1.1, -0.2];
      // Round to bfloat16 (mergekit dtype: bfloat16 on float32 inputs).
      const round = (c: Float32Array) => {
        bf16ToF32(f32ToBf16(c), c);
      };
      const out = { dtype: "F32" as const, data: new Float32Array(n) };
      weightedDeltaSum(
        { dtype: "F32", data: base.slice() },
        ms.map((m) => ({ dtype: "F32" as const, data: m.slice() })),
        w,
        0.7,
        out,
        { round },
      );
      const want = reference(
        base.slice(),
        ms.map((m) => m.slice()),
        w,
        0.7,
        round,
      );
      expect(Buffer.from(out.data.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      // The hook really rounded: every result is a bfloat16 value.
      expect(Array.from(bf16ToF32(f32ToBf16(out.data)))).toEqual(Array.from(out.data));
    });
  }

  it("SIMD and JavaScript paths give the same bytes on a 100k-element BF16 merge with NaN inputs", () => {
    const rng = new Rng(11);
    const n = 100_003;
    const mk = () => {
      const v = Float32Array.from({ length: n }, () => rng.normal() * 0.02);
      for (let k = 5; k < n; k += 1001) v[k] = Number.NaN;
      return f32ToBf16(v);
    };
    const base = { dtype: "BF16" as const, data: mk() };
    const ms = [mk(), mk(), mk(), mk()].map((data) => ({ dtype: "BF16" as const, data }));
    const run = (simd: boolean) => {
      setSimdEnabled(simd);
      const out = { dtype: "BF16" as const, data: new Uint16Array(n) };
      weightedDeltaSum(base, ms, [1, 1, 1, 1], 0.3, out);
      return out.data;
    };
    const a = run(true);
    const b = run(false);
    for (let k = 0; k < n; k++) {
      const nanA = (a[k]! & 0x7fff) > 0x7f80;
      const nanB = (b[k]! & 0x7fff) > 0x7f80;
      // NaN results stay NaN on both paths; every other element is bit-identical.
      if (nanA || nanB) expect(nanA && nanB).toBe(true);
      else if (a[k] !== b[k]) expect.fail(`element ${k}: 0x${a[k]!.toString(16)} vs 0x${b[k]!.toString(16)}`);
    }
  });

  it("rejects mismatched lengths and weight counts", () => {
    const b = { dtype: "F32" as const, data: new Float32Array(4) };
    const m = { dtype: "F32" as const, data: new Float32Array(3) };
    expect(() => weightedDeltaSum(b, [m], [1], 1, b)).toThrow(/model 0 has 3 elements/);
    expect(() => weightedDeltaSum(b, [b], [1, 2], 1, { dtype: "F32", data: new Float32Array(4) })).toThrow(
      /1 models but 2 weights/,
    );
  });
});
