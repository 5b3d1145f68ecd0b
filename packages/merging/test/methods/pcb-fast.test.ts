// The PCB fast path (WebAssembly SIMD over the stored bytes) must give exactly reference mode's
// statistics and output bytes, whatever the thread count, sample or window width.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { f16ToF32, f32ToBf16, f32ToF16, Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  type FastFormat,
  FastPcb,
  FastPcbNonFinite,
  FastPcbUnsupported,
} from "../../src/pcb/fast/fast-pcb.js";
import { PCB_WASM_SOURCE_SHA256 } from "../../src/pcb/fast/pcb-wasm.js";
import { type PcbOptions, resolvePcbOptions } from "../../src/pcb/options.js";
import { pcbPrepare } from "../../src/pcb/reference.js";

interface Case {
  sizes: number[];
  n: number;
  seed: number;
  format: FastFormat;
  /** Share of deltas that are exactly zero, and of 30× outliers. */
  zeros?: number;
  outliers?: number;
  scale?: number;
}

/** Stored inputs (base + n models) per tensor, and their float32 values. */
function makeInputs(c: Case) {
  const rng = new Rng(c.seed);
  const D = c.sizes.reduce((a, b) => a + b, 0);
  const values = Array.from({ length: c.n + 1 }, () => new Float32Array(D));
  let k = 0;
  for (const size of c.sizes) {
    const s = (c.scale ?? 1e-3) * Math.exp(rng.uniformIn(-1, 1));
    for (let j = 0; j < size; j++, k++) {
      values[0]![k] = rng.normal(0, 0.02);
      for (let i = 1; i <= c.n; i++) {
        let d = rng.normal(0, s);
        if (rng.uniform() < (c.outliers ?? 0.001)) d *= 30;
        if (rng.uniform() < (c.zeros ?? 0)) d = 0;
        values[i]![k] = values[0]![k]! + d;
      }
    }
  }
  if (c.format === "F16") {
    // Round to binary16 (subnormals included: base values below 6.1e-5 in magnitude).
    const stored = values.map((v) => f32ToF16(v));
    return {
      D,
      stored: stored.map((s) => new Uint8Array(s.buffer)),
      decoded: stored.map((s) => f16ToF32(s)),
    };
  }
  if (c.format === "BF16") {
    // Round to bf16 so the float32 values are exactly the stored ones.
    const stored = values.map((v) => f32ToBf16(v));
    const decoded = stored.map(
      (s) => new Float32Array(new Uint32Array(Array.from(s, (b) => b << 16)).buffer),
    );
    return { D, stored: stored.map((s) => new Uint8Array(s.buffer)), decoded };
  }
  return { D, stored: values.map((v) => new Uint8Array(v.buffer.slice(0))), decoded: values };
}

/** A reader over in-memory stored inputs, as the pipeline's ranged reads. */
function readerOf(sizes: readonly number[], stored: readonly Uint8Array[], format: FastFormat) {
  const es = format === "F32" ? 4 : 2;
  const starts = sizes.map((_, j) => sizes.slice(0, j).reduce((a, b) => a + b, 0));
  return async (slot: number, j: number, byteOffset: number, target: Uint8Array) => {
    const o = starts[j]! * es + byteOffset;
    target.set(stored[slot]!.subarray(o, o + target.byteLength));
  };
}

async function runFast(
  c: Case,
  opts: PcbOptions,
  segLambdas: { lambda: number; weights: number[] }[],
  extra: {
    sampleSize?: number;
    windowWidth?: number;
    roomScale?: number;
    /** Merge in small steps (the two output buffers alternate, tensors come in pieces). */
    byTensor?: boolean;
    /** Read with this many reads in flight (the sample is gathered as slabs arrive). */
    announce?: boolean;
    /** Several resident slabs, each its own WebAssembly memory. */
    slabElements?: number;
    /** A streamed slab (windows re-read by every pass), after `budget` bytes of resident slabs. */
    windowElements?: number;
    budget?: number;
    residentFirst?: boolean;
    mutate?: (inp: ReturnType<typeof makeInputs>) => void;
  } = {},
) {
  const inp = makeInputs(c);
  extra.mutate?.(inp);
  const paths: { magnitude: string[]; threshold: string[] }[] = [];
  const fast = new FastPcb(
    {
      tensors: c.sizes.map((numel, j) => ({ name: `t${j}`, numel })),
      numTasks: c.n,
      format: c.format,
      options: resolvePcbOptions(opts),
      // One thread: worker threads run only the built package (test/integration/threads.test.ts
      // runs this path on 2 and 3 threads); results do not depend on the count.
      threads: 1,
      sampleSize: extra.sampleSize,
      windowWidth: extra.windowWidth,
      roomScale: extra.roomScale,
      slabElements: extra.slabElements,
      windowElements: extra.windowElements,
      memoryBudget: extra.budget,
      residentFirst: extra.residentFirst,
      mergeRange: extra.byTensor ? 10_007 : undefined,
    },
    { onPaths: (p) => paths.push(p) },
  );
  try {
    await fast.load(readerOf(c.sizes, inp.stored, c.format), extra.announce ? 1 : 4);
    const stats = await fast.computeStats();
    const out: Uint8Array[] = [];
    await fast.merge(segLambdas, c.format, (j, bytes) => {
      out[j] = bytes.slice();
    });
    return {
      inp,
      stats,
      out,
      paths,
      threads: fast.threadCount,
      reruns: fast.reruns,
      slabs: fast.slabs,
      keptWindows: fast.kept.size,
    };
  } finally {
    await fast.close();
  }
}

function reference(
  inp: ReturnType<typeof makeInputs>,
  c: Case,
  opts: PcbOptions,
  segLambdas: { lambda: number; weights: number[] }[],
) {
  const [base, ...models] = inp.decoded;
  const tasks = models.map((m) => {
    const t = new Float32Array(inp.D);
    for (let k = 0; k < inp.D; k++) t[k] = m[k]! - base![k]!;
    return t;
  });
  const prep = pcbPrepare(tasks, opts);
  const out: Uint8Array[] = [];
  let start = 0;
  c.sizes.forEach((numel, j) => {
    const tau = prep.combine(segLambdas[j]!.weights, start, start + numel);
    const o = new Float32Array(numel);
    for (let k = 0; k < numel; k++) o[k] = base![start + k]! + Math.fround(segLambdas[j]!.lambda * tau[k]!);
    const enc = c.format === "BF16" ? f32ToBf16(o) : c.format === "F16" ? f32ToF16(o) : o;
    out.push(new Uint8Array(enc.buffer, enc.byteOffset, enc.byteLength));
    start += numel;
  });
  return { prep, out };
}

function expectSame(
  c: Case,
  opts: PcbOptions,
  r: Awaited<ReturnType<typeof runFast>>,
  segs: { lambda: number; weights: number[] }[],
) {
  const ref = reference(r.inp, c, opts, segs);
  expect(Array.from(r.stats.magnitude.lo)).toEqual(Array.from(ref.prep.magnitude.lo));
  expect(Array.from(r.stats.magnitude.hi)).toEqual(Array.from(ref.prep.magnitude.hi));
  expect(Array.from(r.stats.score.threshold)).toEqual(Array.from(ref.prep.score.threshold));
  expect(Array.from(r.stats.score.max)).toEqual(Array.from(ref.prep.score.max));
  r.out.forEach((o, j) => {
    const want = ref.out[j]!;
    let diff = 0;
    for (let b = 0; b < o.length; b++) if (o[b] !== want[b]) diff++;
    expect(diff, `tensor ${j}: differing bytes`).toBe(0);
  });
}

const segsOf = (sizes: number[], n: number, seed: number) => {
  const rng = new Rng(seed);
  return sizes.map(() => ({
    lambda: rng.uniformIn(0.5, 1.5),
    weights: Array.from({ length: n }, () => rng.uniformIn(0.7, 1.3)),
  }));
};

describe("pcb fast path", () => {
  it("was built from the current wasm/pcb.c (node scripts/build-pcb-wasm.mjs)", () => {
    const src = readFileSync(new URL("../../wasm/pcb.c", import.meta.url), "utf8");
    expect(createHash("sha256").update(src).digest("hex")).toBe(PCB_WASM_SOURCE_SHA256);
  });

  it("is bit-identical to reference mode (BF16, 4 tasks, merged at once or tensor by tensor, reads in flight or not)", async () => {
    const c: Case = { sizes: [50_000, 3, 123_457, 64, 77_001], n: 4, seed: 1, format: "BF16" };
    const opts = { ratio: 0.1 };
    const segs = segsOf(c.sizes, c.n, 5);
    for (const [byTensor, announce] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const r = await runFast(c, opts, segs, { byTensor, announce });
      expectSame(c, opts, r, segs);
      // A sample gathered wrongly would show as missed windows (the results stay exact either way).
      expect([...r.paths[0]!.magnitude, ...r.paths[0]!.threshold].every((p) => p === "window")).toBe(true);
    }
  });

  it("is bit-identical for F32 and F16 inputs, other ratios, clamp quantiles and task counts", async () => {
    for (const [n, ratio, q, format] of [
      [1, 0.3, 0.01, "F32"],
      [3, 0.05, 1e-4, "F32"],
      [7, 0.2, 0.02, "BF16"],
      // Keeping 80 %: the drop threshold is negative, so the kernel's bound proves nothing and every
      // score is computed exactly.
      [2, 0.8, 0.01, "BF16"],
      [4, 0.1, 0.01, "F16"],
      [3, 0.2, 1e-3, "F16"],
    ] as const) {
      const c: Case = { sizes: [40_000, 9_999, 1], n, seed: n, format };
      const opts = { ratio, clampQuantile: q };
      // λ = 1 exactly on one tensor (the kernel skips the float64 step there).
      const segs = segsOf(c.sizes, n, n).map((sg, j) => (j === 0 ? { ...sg, lambda: 1 } : sg));
      expectSame(c, opts, await runFast(c, opts, segs), segs);
    }
  });

  it("stays exact when the windows miss or overflow (tiny samples, narrow windows) and on ties", async () => {
    const c: Case = { sizes: [30_000, 20_000], n: 4, seed: 7, format: "BF16", zeros: 0.3, scale: 3e-3 };
    const opts = { ratio: 0.1 };
    const segs = segsOf(c.sizes, c.n, 2);
    const r = await runFast(c, opts, segs, { sampleSize: 64, windowWidth: 0 });
    expectSame(c, opts, r, segs);
    expect([...r.paths[0]!.magnitude, ...r.paths[0]!.threshold].some((p) => p !== "window")).toBe(true);
    // No room to spare: window collections and candidate lists overflow and their passes run again.
    const tight = await runFast(c, opts, segs, { roomScale: 0.001 });
    expectSame(c, opts, tight, segs);
    expect(tight.reruns).toBeGreaterThan(0);
    const tied: Case = { ...c, zeros: 0.95, seed: 8 };
    expectSame(tied, opts, await runFast(tied, opts, segs), segs);
  });

  it("decodes and encodes F16 as tensor-core does: every finite binary16 value as the base", async () => {
    // All 63 488 finite bit patterns (subnormals, ±0, up to ±65504); the models perturb each by ≈ 1 %, so
    // outputs cover the same range (those beyond ±65504 encode to ±Inf).
    const finite = Uint16Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00);
    const c: Case = { sizes: [40_000, finite.length - 40_000], n: 3, seed: 12, format: "F16" };
    const opts = { ratio: 0.2 };
    const segs = segsOf(c.sizes, c.n, 6);
    const rng = new Rng(13);
    const r = await runFast(c, opts, segs, {
      mutate: (inp) => {
        const base = f16ToF32(finite);
        inp.stored[0]!.set(new Uint8Array(finite.buffer));
        inp.decoded[0]!.set(base);
        for (let i = 1; i <= c.n; i++) {
          // Kept finite (an Inf input is declined): at most ±65504.
          const m = f32ToF16(
            base.map((v) => Math.max(-65504, Math.min(65504, v * (1 + 0.01 * rng.normal())))),
          );
          inp.stored[i]!.set(new Uint8Array(m.buffer));
          inp.decoded[i]!.set(f16ToF32(m));
        }
      },
    });
    expectSame(c, opts, r, segs);
    // The outputs reach the encoder's edge cases: subnormal results and overflow to ±Inf.
    let inf = 0;
    let subnormal = 0;
    for (const o of r.out) {
      for (const h of new Uint16Array(o.buffer, o.byteOffset, o.byteLength / 2)) {
        if ((h & 0x7fff) === 0x7c00) inf++;
        if ((h & 0x7c00) === 0 && (h & 0x3ff) !== 0) subnormal++;
      }
    }
    expect(inf).toBeGreaterThan(0);
    expect(subnormal).toBeGreaterThan(1000);
  });

  it("applies nan_guard on exactly as reference mode (an all-zero task: zero range, dropped row)", async () => {
    const c: Case = { sizes: [20_000, 7_001], n: 3, seed: 11, format: "BF16" };
    const opts = { ratio: 0.1, nanGuard: "on" as const };
    const segs = segsOf(c.sizes, c.n, 4);
    const r = await runFast(c, opts, segs, {
      mutate: (inp) => {
        inp.stored[2]!.set(inp.stored[0]!);
        inp.decoded[2]!.set(inp.decoded[0]!);
      },
    });
    expect(r.stats.magnitude.range[1]).toBe(0);
    expectSame(c, opts, r, segs);
  });

  it("is bit-identical across slabs: several WebAssembly memories, a streamed slab, or both", async () => {
    const c: Case = { sizes: [50_000, 3, 123_457, 64, 77_001], n: 4, seed: 21, format: "BF16" };
    const opts = { ratio: 0.1 };
    const segs = segsOf(c.sizes, c.n, 9);
    const MB = 2 ** 20;
    for (const [label, extra, kinds] of [
      // Resident slabs of at most 60 000 positions: tensors packed, the large ones cut where a slab fills.
      ["resident slabs", { slabElements: 60_000 }, ["R", "R", "R", "R", "R"]],
      // Everything streamed in windows of 30 000 positions, read again by every pass; the score pass's
      // candidates kept per window for the merge (default budget), or recomputed (budget 0).
      ["streamed, candidates kept", { windowElements: 30_000 }, ["S"]],
      ["streamed", { windowElements: 30_000, budget: 0 }, ["S"]],
      // Budget for one resident slab, the rest streamed.
      ["resident + streamed", { windowElements: 30_000, budget: 134 * MB, residentFirst: true }, ["R", "S"]],
      ["streamed, small steps", { windowElements: 40_000, budget: 0, byTensor: true }, ["S"]],
    ] as const) {
      const r = await runFast(c, opts, segs, extra);
      expect(
        r.slabs.map((sl) => (sl.resident ? "R" : "S")),
        label,
      ).toEqual(kinds);
      expectSame(c, opts, r, segs);
    }
    // F32 and F16 inputs, another ratio, streamed.
    for (const format of ["F32", "F16"] as const) {
      const f: Case = { sizes: [40_000, 9_999, 1, 33_333], n: 3, seed: 5, format };
      const o = { ratio: 0.2, clampQuantile: 1e-3 };
      const sg = segsOf(f.sizes, f.n, 3);
      expectSame(f, o, await runFast(f, o, sg, { windowElements: 20_000, budget: 0 }), sg);
    }
  });

  it("counts non-finite inputs per input and tensor, in resident and streamed slabs", async () => {
    const c: Case = { sizes: [1000, 2000, 3000], n: 2, seed: 3, format: "F32" };
    for (const extra of [{}, { windowElements: 1000, budget: 0 }]) {
      const inp = makeInputs(c);
      inp.decoded[1]![5] = Number.NaN;
      inp.decoded[2]![1500] = Number.POSITIVE_INFINITY;
      inp.decoded[2]![1501] = Number.NEGATIVE_INFINITY;
      inp.decoded[0]![5999] = Number.NaN;
      const fast = new FastPcb({
        tensors: c.sizes.map((numel, j) => ({ name: `t${j}`, numel })),
        numTasks: 2,
        format: "F32",
        options: resolvePcbOptions({}),
        threads: 1,
        windowElements: (extra as { windowElements?: number }).windowElements,
        memoryBudget: (extra as { budget?: number }).budget,
      });
      try {
        await fast.load(
          readerOf(
            c.sizes,
            inp.decoded.map((d) => new Uint8Array(d.buffer)),
            "F32",
          ),
        );
        const err = await fast.computeStats().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FastPcbNonFinite);
        expect((err as FastPcbNonFinite).found).toEqual([
          { slot: 1, index: 0, count: 1 },
          { slot: 2, index: 1, count: 2 },
          { slot: 0, index: 2, count: 1 },
        ]);
      } finally {
        await fast.close();
      }
    }
  });

  it("rejects non-finite inputs as unsupported (the general path handles them)", async () => {
    const c: Case = { sizes: [1000], n: 2, seed: 3, format: "F32" };
    const fast = new FastPcb({
      tensors: [{ name: "a", numel: 1000 }],
      numTasks: 2,
      format: "F32",
      options: resolvePcbOptions({}),
      threads: 1,
    });
    const inp = makeInputs(c);
    inp.decoded[1]![5] = Number.NaN;
    await fast.load(
      readerOf(
        c.sizes,
        inp.decoded.map((d) => new Uint8Array(d.buffer)),
        "F32",
      ),
    );
    await expect(fast.computeStats()).rejects.toBeInstanceOf(FastPcbUnsupported);
    await fast.close();
  });
});
