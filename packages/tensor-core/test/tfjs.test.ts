import { afterEach, describe, expect, it } from "vitest";
import { Rng } from "../src/index.js";
import {
  CONV2D_BACKPROP_FILTER,
  conv2dFilterGradNHWC,
  fromTf,
  fromTfAsync,
  initTf,
  replacedKernel,
  TfBridgeError,
  toTf,
} from "../src/tfjs/index.js";

type Tf = Awaited<ReturnType<typeof initTf>>["tf"];

function randomArray(rng: Rng, n: number, zeros = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() < zeros ? 0 : rng.normal();
  return a;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let m = 0;
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3 * scale));
  return m;
}

// Three geometries: stride 1 'same', stride 2 'valid', strides [2, 1] with a 5x5 filter 'same'.
const shapes = [
  { name: "stride 1 'same' 3x3", x: [2, 9, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: "same" as const },
  {
    name: "stride 2 'valid' 3x3",
    x: [3, 11, 10, 2],
    filter: [3, 3, 2, 5],
    strides: 2,
    pad: "valid" as const,
  },
  {
    name: "strides [2, 1] 'same' 5x5",
    x: [2, 12, 9, 3],
    filter: [5, 5, 3, 2],
    strides: [2, 1] as [number, number],
    pad: "same" as const,
  },
];

function convCase(tf: Tf, rng: Rng, s: (typeof shapes)[number], zeros: number) {
  const [fh, fw, ci, co] = s.filter;
  const xs = s.x as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xs, [fh, fw, ci, co], s.strides, 1, s.pad);
  const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  const xData = randomArray(
    rng,
    xs.reduce((a, b) => a * b, 1),
    zeros,
  );
  const dyData = randomArray(
    rng,
    dyShape.reduce((a, b) => a * b, 1),
  );
  const attrs = {
    strides: s.strides,
    pad: s.pad,
    dataFormat: "NHWC",
    dimRoundingMode: undefined,
    filterShape: s.filter as [number, number, number, number],
  };
  return { xData, dyData, dyShape, attrs };
}

describe("TensorFlow.js bridge", () => {
  const savedEnv = process.env.X_TF_BACKEND;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.X_TF_BACKEND;
    else process.env.X_TF_BACKEND = savedEnv;
  });

  it("auto selection falls back from tfjs-node (not installable here) to wasm and registers gradients", async () => {
    delete process.env.X_TF_BACKEND;
    const rt = await initTf();
    // tfjs-node has no binary here (its install script downloads one); if a user has it, it wins.
    expect(["tensorflow", "wasm"]).toContain(rt.backend);
    if (rt.backend === "wasm") expect(rt.skipped.map((s) => s.backend)).toEqual(["tensorflow"]);
    expect(rt.gradients).toBe(true);
    expect(rt.tf.getBackend()).toBe(rt.backend);
    const g = rt.tf.grad((x: ReturnType<Tf["tensor"]>) => rt.tf.sum(rt.tf.mul(x, x)))(
      rt.tf.tensor([1, 2, 3]),
    );
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
  });

  it("honours X_TF_BACKEND, lets the option win over it, and rejects unknown names", async () => {
    process.env.X_TF_BACKEND = "cpu";
    expect((await initTf()).backend).toBe("cpu");
    expect((await initTf({ backend: "wasm" })).backend).toBe("wasm");
    // An explicit backend that cannot load is an error naming it, not a silent fallback.
    let tfjsNode = true;
    try {
      await import("@tensorflow/tfjs-node" as string);
    } catch {
      tfjsNode = false;
    }
    if (!tfjsNode) await expect(initTf({ backend: "tensorflow" })).rejects.toThrow(/tensorflow: cannot load/);
    process.env.X_TF_BACKEND = "gpu-please";
    await expect(initTf()).rejects.toThrow(TfBridgeError);
    await expect(initTf()).rejects.toThrow(/gpu-please/);
  });

  it("own Conv2DBackpropFilter matches the cpu reference kernel on the three spec shapes (wasm and cpu)", async () => {
    const { tf } = await initTf({ backend: "cpu" });
    const reference = replacedKernel("cpu");
    expect(reference).toBeDefined();
    const rng = new Rng(77);
    for (const s of shapes) {
      for (const zeros of [0, 0.7]) {
        const c = convCase(tf, rng, s, zeros);
        await tf.setBackend("cpu");
        const x = tf.tensor(c.xData, s.x);
        const dy = tf.tensor(c.dyData, c.dyShape);
        const refInfo = reference!.kernelFunc({
          inputs: { x, dy },
          backend: tf.backend(),
          attrs: c.attrs as never,
        }) as { dataId: object };
        const ref = tf.backend().readSync(refInfo.dataId) as Float32Array;
        const ours = tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x, dy }, c.attrs as never) as ReturnType<
          Tf["tensor"]
        >;
        expect(ours.shape).toEqual(s.filter);
        expect(maxRelDiff(ours.dataSync(), ref), `${s.name} cpu`).toBeLessThanOrEqual(1e-5);
        tf.dispose([x, dy, ours]);

        await tf.setBackend("wasm");
        const xw = tf.tensor(c.xData, s.x);
        const dyw = tf.tensor(c.dyData, c.dyShape);
        const wasmOut = tf
          .engine()
          .runKernel(CONV2D_BACKPROP_FILTER, { x: xw, dy: dyw }, c.attrs as never) as ReturnType<
          Tf["tensor"]
        >;
        expect(maxRelDiff(wasmOut.dataSync(), ref), `${s.name} wasm`).toBeLessThanOrEqual(1e-5);
        expect(maxRelDiff(conv2dFilterGradNHWC(c.xData, s.x, c.dyData, c.attrs), ref)).toBeLessThanOrEqual(
          1e-5,
        );
        tf.dispose([xw, dyw, wasmOut]);
      }
    }
  });

  it("conv2d gradients train on wasm and agree with cpu (end to end through tf.grads)", async () => {
    const rng = new Rng(5);
    const xData = randomArray(rng, 4 * 10 * 10 * 2);
    const wData = randomArray(rng, 3 * 3 * 2 * 6);
    const grads: Record<string, Float32Array[]> = {};
    for (const backend of ["wasm", "cpu"] as const) {
      const { tf } = await initTf({ backend });
      const x = tf.tensor4d(xData, [4, 10, 10, 2]);
      const w = tf.tensor4d(wData, [3, 3, 2, 6]);
      const f = (a: ReturnType<Tf["tensor"]>, b: ReturnType<Tf["tensor"]>) =>
        tf.sum(tf.square(tf.conv2d(a as never, b as never, [2, 1], "same")));
      const [gx, gw] = tf.grads(f)([x, w]);
      grads[backend] = [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array];
      tf.dispose([x, w, gx, gw]);
    }
    expect(maxRelDiff(grads.wasm[0], grads.cpu[0])).toBeLessThanOrEqual(1e-5);
    expect(maxRelDiff(grads.wasm[1], grads.cpu[1])).toBeLessThanOrEqual(1e-5);
  });

  it("rejects NCHW and mismatched dy with TfBridgeError", async () => {
    const { tf } = await initTf({ backend: "wasm" });
    const x = tf.zeros([1, 4, 4, 1]);
    const dy = tf.zeros([1, 4, 4, 1]);
    const attrs = { strides: 1, pad: "same", dataFormat: "NCHW", filterShape: [3, 3, 1, 1] };
    expect(() => tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x, dy }, attrs as never)).toThrow(
      /only NHWC/,
    );
    expect(() =>
      conv2dFilterGradNHWC(new Float32Array(16), [1, 4, 4, 1], new Float32Array(3), {
        strides: 1,
        pad: "same",
        filterShape: [3, 3, 1, 1],
      }),
    ).toThrow(TfBridgeError);
    tf.dispose([x, dy]);
  });

  it("converts typed arrays to tf.Tensor and back", async () => {
    const { tf } = await initTf({ backend: "wasm" });
    const f = new Float32Array([1.5, -2, 0, 3, 4, 5]);
    const t = toTf(f, [2, 3]);
    expect(t.dtype).toBe("float32");
    expect(t.shape).toEqual([2, 3]);
    const back = fromTf(t);
    expect(back.data).toEqual(f);
    expect(back.shape).toEqual([2, 3]);
    const d = toTf(new Float64Array([0.1, 0.2]), [2]);
    expect(Array.from(fromTf(d).data)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    const i = toTf(new Int16Array([-3, 7]), [1, 2]);
    expect(i.dtype).toBe("int32");
    expect(await fromTfAsync(i)).toEqual({ data: new Int32Array([-3, 7]), shape: [1, 2], dtype: "int32" });
    const m = toTf(new Uint8Array([0, 2, 1]), [3], "bool");
    expect(fromTf(m).data).toEqual(new Uint8Array([0, 1, 1]));
    // fromTf returns a copy even on cpu, where dataSync() exposes the backend's own storage.
    await initTf({ backend: "cpu" });
    const c = toTf(new Float32Array([1, 2]), [2]);
    fromTf(c).data[0] = 99;
    expect(Array.from(fromTf(c).data)).toEqual([1, 2]);
    c.dispose();
    expect(() => toTf(f, [4, 2])).toThrow(/needs 8 elements/);
    expect(() => toTf(f, [6], "int32")).toThrow(TfBridgeError);
    tf.dispose([t, d, i, m]);
  });
});
