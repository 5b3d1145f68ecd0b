import {
  kernels as K,
  KernelError,
  KernelPool,
  Rng,
  SUM_BLOCK,
  selectKths,
  sharedFloat32Array,
  toShared,
} from "@x/tensor-core";
import { WorkerError } from "@x/tensor-core/workers";
import { afterAll, describe, expect, it } from "vitest";

// An integration test: it imports the built package, whose KernelPool starts dist/pool/kernel-worker.js
// of the same build (Node 20 cannot run the TypeScript sources in a worker thread).

// Bit-level equality (vitest's deep equality is far too slow on arrays of 300k elements).
function sameBits(actual: Float32Array | Float64Array, expected: Float32Array | Float64Array): boolean {
  const view = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return actual.length === expected.length && view(actual).equals(view(expected));
}

function randomShared(rng: Rng, len: number, zeros = 0.1): Float32Array {
  const a = sharedFloat32Array(len);
  for (let i = 0; i < len; i++) a[i] = rng.uniform() < zeros ? 0 : rng.normal() * 2;
  return a;
}

describe("KernelPool (worker threads over SharedArrayBuffer)", () => {
  // Small chunks and no inline threshold force many chunks across both workers.
  const pool = new KernelPool({ threads: 2, chunkElements: SUM_BLOCK, inlineBelow: 0 });
  afterAll(() => pool.destroy());
  const rng = new Rng(21);
  const len = 5 * SUM_BLOCK + 321;
  const a = randomShared(rng, len);
  const b = randomShared(rng, len);

  it("elementwise ops are bit-identical to the single-threaded kernels", async () => {
    const out = sharedFloat32Array(len);
    const cases: [Parameters<KernelPool["elementwise"]>[0], Float32Array[], number[], Float32Array][] = [
      ["abs", [a, out], [], K.abs(a) as Float32Array],
      ["sign", [a, out], [], K.sign(a) as Float32Array],
      ["exp", [a, out], [], K.exp(a) as Float32Array],
      ["tanh", [a, out], [], K.tanh(a) as Float32Array],
      ["clamp", [a, out], [-0.3, 0.7], K.clamp(a, -0.3, 0.7) as Float32Array],
      ["scale", [a, out], [1.5], K.scale(a, 1.5) as Float32Array],
      ["add", [a, b, out], [], K.add(a, b) as Float32Array],
      ["mul", [a, b, out], [], K.mul(a, b) as Float32Array],
      ["gatedClamp", [a, b, out], [0.5, 0.1], K.gatedClamp(a, b, 0.5, 0.1) as Float32Array],
      ["affineNormalize", [a, out], [-1, 3, 0], K.affineNormalize(a, -1, 3) as Float32Array],
    ];
    for (const [op, arrays, scalars, expected] of cases) {
      out.fill(Number.NaN);
      await pool.elementwise(op, arrays, scalars);
      expect(sameBits(out, expected), op).toBe(true);
    }
    const y = toShared(b.slice());
    await pool.elementwise("axpy", [a, y], [0.25]);
    expect(sameBits(y, K.axpy(0.25, a, b.slice()))).toBe(true);
  });

  it("reductions along D equal the single-threaded results exactly", async () => {
    expect(await pool.sum(a)).toBe(K.sum(a));
    expect(await pool.mean(a)).toBe(K.mean(a));
    expect(await pool.min(a)).toBe(K.min(a));
    expect(await pool.max(a)).toBe(K.max(a));
    expect(await pool.countNonZero(a)).toBe(K.countNonZero(a));
    const wide = toShared(Float64Array.from(a, (v) => v * Math.PI));
    expect(await pool.sum(wide)).toBe(K.sum(wide));
    const wideOut = toShared(new Float64Array(len));
    await pool.elementwise("tanh", [wide, wideOut]);
    expect(sameBits(wideOut, K.tanh(wide))).toBe(true);
    const withNaN = toShared(a.slice());
    withNaN[len - 5] = Number.NaN;
    expect(await pool.min(withNaN)).toBeNaN();
    expect(await pool.max(withNaN)).toBeNaN();
  });

  it("task-axis reductions and weighted sums over column chunks equal the kernels", async () => {
    const n = 4;
    const d = 2 * SUM_BLOCK + 77;
    const x = randomShared(rng, n * d, 0.3);
    const out = sharedFloat32Array(d);
    for (const op of ["sum", "mean", "min", "max", "countNonZero"] as const) {
      await pool.reduceTasks(op, x, n, d, out);
      expect(sameBits(out, K.reduceTasks(op, x, n, d)), op).toBe(true);
    }
    const w = [0.5, -1, 2, 0.125];
    await pool.weightedSumTasks(x, n, d, w, out);
    expect(sameBits(out, K.weightedSumTasks(x, n, d, w))).toBe(true);
  });

  it("selectRows spreads exact per-row selection over the workers", async () => {
    const n = 3;
    const d = 100_003;
    const x = randomShared(rng, n * d, 0.2);
    const ks = [0, 1000, 50_001, d - 1];
    const got = await pool.selectRows(x, n, d, ks);
    const perRowKs = [[5], [d - 2, 7], [d >> 1]];
    const got2 = await pool.selectRows(x, n, d, perRowKs);
    for (let r = 0; r < n; r++) {
      const row = x.subarray(r * d, (r + 1) * d);
      const sorted = row.slice().sort();
      expect(got[r]).toEqual(ks.map((k) => sorted[k]));
      expect(got2[r]).toEqual(selectKths(row, perRowKs[r]));
    }
    await expect(pool.selectRows(x, n, d, [[1], [2]])).rejects.toThrow(KernelError);
  });

  it("rejects non-shared arrays and mismatched shapes with KernelError", async () => {
    const plain = new Float32Array(len);
    await expect(pool.elementwise("abs", [plain, sharedFloat32Array(len)])).rejects.toThrow(
      /SharedArrayBuffer/,
    );
    await expect(pool.elementwise("abs", [a, sharedFloat32Array(3)])).rejects.toThrow(KernelError);
    await expect(pool.elementwise("add", [a, sharedFloat32Array(len)])).rejects.toThrow(/takes 3 arrays/);
    await expect(pool.elementwise("clamp", [a, sharedFloat32Array(len)], [0])).rejects.toThrow(/2 scalars/);
    await expect(pool.reduceTasks("sum", a, 3, 7, sharedFloat32Array(7))).rejects.toThrow(KernelError);
  });

  it("is unusable after destroy()", async () => {
    const p = new KernelPool({ threads: 1, inlineBelow: 0 });
    await p.sum(a);
    await p.destroy();
    await expect(p.sum(a)).rejects.toMatchObject({ name: "WorkerError", code: "CLOSED" });
    await expect(p.sum(a)).rejects.toBeInstanceOf(WorkerError);
  });
});
