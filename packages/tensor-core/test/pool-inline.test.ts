import { describe, expect, it } from "vitest";
import { kernels as K, KernelPool, sharedFloat32Array } from "../src/index.js";

// Unit tests run the TypeScript sources, which have no built worker script: the pool computes small
// inputs in the calling thread and refuses to start threads (the worker path is tested on the build, in
// test/integration/pool.test.ts).
describe("KernelPool from sources", () => {
  it("runs small work in the calling thread on ordinary arrays, same results", async () => {
    const pool = new KernelPool({ threads: 2 });
    const x = Float32Array.from([3, -1, 0, 2.5]);
    const out = new Float32Array(4);
    await pool.elementwise("tanh", [x, out]);
    expect(out).toEqual(K.tanh(x));
    expect(await pool.sum(x)).toBe(K.sum(x));
    expect(await pool.countNonZero(x)).toBe(3);
    await pool.destroy();
  });

  it("says the package must be built when work needs the worker threads", async () => {
    const pool = new KernelPool({ threads: 2, inlineBelow: 0 });
    const err = await pool.sum(sharedFloat32Array(8)).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "WorkerError", code: "NOT_BUILT" });
    expect((err as Error).message).toMatch(/kernel-pool\.ts runs from TypeScript sources.*pnpm build/);
    await pool.destroy();
  });
});
