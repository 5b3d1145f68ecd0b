import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareCodePoints,
  DTYPES,
  dtypeInfo,
  elementSize,
  f8e4m3Table,
  f8e5m2Table,
  StateDict,
  sortKeys,
  Tensor,
  TensorError,
} from "../src/index.js";

describe("dtypes", () => {
  it("element sizes follow the safetensors table", () => {
    const sizes: Record<string, number> = {
      BOOL: 1,
      U8: 1,
      I8: 1,
      F8_E5M2: 1,
      F8_E4M3: 1,
      F8_E8M0: 1,
      F8_E4M3FNUZ: 1,
      F8_E5M2FNUZ: 1,
      I16: 2,
      U16: 2,
      F16: 2,
      BF16: 2,
      I32: 4,
      U32: 4,
      F32: 4,
      I64: 8,
      U64: 8,
      F64: 8,
      C64: 8,
      F4: 0.5,
      F6_E2M3: 0.75,
      F6_E3M2: 0.75,
    };
    for (const d of DTYPES) expect(elementSize(d)).toBe(sizes[d]);
    expect(DTYPES.length).toBe(Object.keys(sizes).length);
  });
});

describe("Tensor", () => {
  it("validates data length against the shape and the storage type", () => {
    expect(() => new Tensor("F32", [2, 3], new Float32Array(5))).toThrow(TensorError);
    expect(() => new Tensor("BF16", [2], new Float32Array(2) as unknown as Uint16Array)).toThrow(
      /Uint16Array/,
    );
    expect(() => Tensor.zeros("F32", [-1])).toThrow(TensorError);
    expect(Tensor.zeros("F64", []).numel).toBe(1);
    expect(Tensor.zeros("I64", [2, 0]).data).toBeInstanceOf(BigInt64Array);
    expect(Tensor.zeros("F4", [4]).byteLength).toBe(2);
    expect(() => Tensor.zeros("F4", [3])).toThrow(/whole number of bytes/);
  });

  it("fromBytes views aligned bytes and copies unaligned ones", () => {
    const buf = new Uint8Array(9);
    new DataView(buf.buffer).setFloat32(1, 2.5, true);
    const unaligned = Tensor.fromBytes("F32", [1], buf.subarray(1, 5));
    expect(unaligned.data[0]).toBe(2.5);
    expect(unaligned.data.buffer).not.toBe(buf.buffer);
    const aligned = Tensor.fromBytes("U8", [4], buf.subarray(4, 8));
    expect(aligned.data.buffer).toBe(buf.buffer);
  });

  it("converts floats to integers by truncation with wraparound, NaN/Inf -> 0, and to BOOL by != 0", () => {
    const t = Tensor.fromNumbers("F64", [8], [1.9, -1.9, 300, -129, Number.NaN, Infinity, 2 ** 40 + 3, -0]);
    expect(Array.from(t.to("I8").data)).toEqual([1, -1, 44, 127, 0, 0, 3, 0]);
    expect(Array.from(t.to("U8").data)).toEqual([1, 255, 44, 127, 0, 0, 3, 0]);
    expect(Array.from(t.to("I64").data)).toEqual([1n, -1n, 300n, -129n, 0n, 0n, 2n ** 40n + 3n, 0n]);
    expect(Array.from(t.to("BOOL").data)).toEqual([1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it("64-bit integers convert exactly through their 32-bit words", () => {
    const big = new Tensor("I64", [4], BigInt64Array.of(-1n, 2n ** 62n + 1n, -(2n ** 63n), 123n));
    expect(Array.from(big.to("U64").data)).toEqual([2n ** 64n - 1n, 2n ** 62n + 1n, 2n ** 63n, 123n]);
    expect(Array.from(big.to("I32").data)).toEqual([-1, 1, 0, 123]);
    expect(Array.from(big.to("F64").data)).toEqual([-1, 2 ** 62, -(2 ** 63), 123]);
    expect(Array.from(Tensor.fromNumbers("I32", [2], [-7, 7]).to("I64").data)).toEqual([-7n, 7n]);
    expect(Array.from(big.toFloat32())).toEqual([-1, 2 ** 62, -(2 ** 63), 123]);
  });

  it("F32 <-> BF16/F16 conversions round to nearest even and decode exactly (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 50 }), (xs) => {
        const t = Tensor.fromFloat32("F32", [xs.length], Float32Array.from(xs));
        for (const d of ["BF16", "F16"] as const) {
          const h = t.to(d);
          // Decoding and re-encoding is stable; F32 -> F64 -> d equals F32 -> d.
          expect(Array.from(h.to("F32").to(d).data)).toEqual(Array.from(h.data));
          expect(Array.from(t.to("F64").to(d).data)).toEqual(Array.from(h.data));
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });

  it("decodes FP8 E4M3 and E5M2 (known values)", () => {
    const e4 = f8e4m3Table();
    expect(e4[0x7e]).toBe(448);
    expect(Number.isNaN(e4[0x7f])).toBe(true);
    expect(e4[0x01]).toBe(2 ** -9);
    expect(e4[0x38]).toBe(1);
    const e5 = f8e5m2Table();
    expect(e5[0x7b]).toBe(57344);
    expect(e5[0x7c]).toBe(Infinity);
    expect(e5[0x3c]).toBe(1);
    expect(Array.from(new Tensor("F8_E4M3", [2], Uint8Array.of(0x38, 0xb8)).toFloat32())).toEqual([1, -1]);
  });

  it("refuses conversions without a codec", () => {
    expect(() => Tensor.zeros("C64", [1]).to("F32")).toThrow(TensorError);
    expect(() => Tensor.zeros("F32", [1]).to("F8_E4M3")).toThrow(TensorError);
    expect(Tensor.zeros("C64", [2]).clone().data.length).toBe(4);
    const packed = new Tensor("F4", [4], Uint8Array.of(0x12, 0x34));
    expect(Array.from(packed.clone().data)).toEqual([0x12, 0x34]);
  });

  it("storage arrays match dtypeInfo for every dtype", () => {
    for (const d of DTYPES) {
      const shape = dtypeInfo(d).bits < 8 ? [8] : [3];
      expect(Tensor.zeros(d, shape).data).toBeInstanceOf(dtypeInfo(d).array);
    }
  });
});

describe("StateDict", () => {
  it("orders keys by code point like Python's sorted(), not by UTF-16 units", () => {
    const keys = ["b", "a", "\u{1F600}", "\uFF21", "a.10", "a.9", "A", ""];
    // Python: sorted(["b","a","😀","Ａ","a.10","a.9","A",""]) == ['', 'A', 'a', 'a.10', 'a.9', 'b', 'Ａ', '😀']
    expect(sortKeys(keys)).toEqual(["", "A", "a", "a.10", "a.9", "b", "\uFF21", "\u{1F600}"]);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
        const cp = (s: string) => Array.from(s, (c) => c.codePointAt(0) as number);
        const x = cp(a);
        const y = cp(b);
        let want = 0;
        for (let i = 0; i < Math.min(x.length, y.length) && want === 0; i++) want = x[i] - y[i];
        if (want === 0) want = x.length - y.length;
        return Math.sign(compareCodePoints(a, b)) === Math.sign(want);
      }),
    );
  });

  it("flattens in sorted order with offsets, and unflattens to the original dtypes and values", async () => {
    const sd = new StateDict({
      "z.w": Tensor.fromNumbers("F32", [2, 2], [1, 2, 3, 4]),
      "a.b": Tensor.fromNumbers("BF16", [3], [0.5, -1, 2]),
      m: Tensor.fromNumbers("F16", [], [7]),
    });
    expect(sd.keys()).toEqual(["z.w", "a.b", "m"]);
    const flat = await sd.flatten({ shared: true });
    expect(flat.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(flat.layout.entries.map((e) => [e.name, e.offset, e.length])).toEqual([
      ["a.b", 0, 3],
      ["m", 3, 1],
      ["z.w", 4, 4],
    ]);
    expect(Array.from(flat.data)).toEqual([0.5, -1, 2, 7, 1, 2, 3, 4]);
    const views = StateDict.views(flat.data, flat.layout);
    expect(Array.from(views.get("m") as Float32Array)).toEqual([7]);
    const back = StateDict.unflatten(flat.data, flat.layout);
    for (const k of sd.keys()) {
      const a = await sd.tensor(k);
      const b = await back.tensor(k);
      expect(b.dtype).toBe(a.dtype);
      expect(b.shape).toEqual(a.shape);
      expect(Array.from(b.data as Uint16Array)).toEqual(Array.from(a.data as Uint16Array));
    }
    // F32 unflatten gives views into the flat vector.
    const asF32 = StateDict.unflatten(flat.data, flat.layout, { dtype: "F32" });
    expect(((await asF32.tensor("z.w")).data as Float32Array).buffer).toBe(flat.data.buffer);
    expect(() => StateDict.unflatten(new Float32Array(2), flat.layout)).toThrow(TensorError);
    await expect(sd.tensor("missing")).rejects.toThrow(TensorError);
  });
});
