import { describe, expect, it } from "vitest";
import { Tensor } from "../src/index.js";
import { initTf, TfBridgeError, tensorToTf, tfToTensor } from "../src/tfjs/index.js";

describe("Tensor <-> tf.Tensor", () => {
  it("round-trips F32, widens small ints, decodes F16/BF16 exactly and converts back on request", async () => {
    const { tf } = await initTf({ backend: "wasm" });
    const f = new Tensor("F32", [2, 2], new Float32Array([1.5, -2, 0, 3.25]));
    const tf32 = tensorToTf(f);
    expect(tf32.dtype).toBe("float32");
    expect(tf32.shape).toEqual([2, 2]);
    const back = tfToTensor(tf32);
    expect(back.dtype).toBe("F32");
    expect(back.shape).toEqual([2, 2]);
    expect(back.data).toEqual(f.data);

    const bf = f.to("BF16");
    const tbf = tensorToTf(bf);
    expect(Array.from(tbf.dataSync())).toEqual(Array.from(bf.toFloat32()));
    const again = tfToTensor(tbf, "BF16");
    expect(again.dtype).toBe("BF16");
    expect(again.data).toEqual(bf.data);
    expect(Array.from(tensorToTf(f.to("F16")).dataSync())).toEqual([1.5, -2, 0, 3.25]);

    const i8 = new Tensor("I8", [3], new Int8Array([-128, 0, 127]));
    const ti = tensorToTf(i8);
    expect(ti.dtype).toBe("int32");
    expect(tfToTensor(ti, "I8").data).toEqual(i8.data);

    const b = new Tensor("BOOL", [3], new Uint8Array([0, 1, 1]));
    const tb = tensorToTf(b);
    expect(tb.dtype).toBe("bool");
    expect(tfToTensor(tb).data).toEqual(b.data);
    tf.dispose([tf32, tbf, ti, tb]);
  });

  it("rejects 64-bit integers outside the int32 range", async () => {
    await initTf({ backend: "wasm" });
    const ok = new Tensor("I64", [2], new BigInt64Array([-5n, 7n]));
    expect(Array.from(tensorToTf(ok).dataSync())).toEqual([-5, 7]);
    const big = new Tensor("I64", [1], new BigInt64Array([1n << 40n]));
    expect(() => tensorToTf(big)).toThrow(TfBridgeError);
  });
});
