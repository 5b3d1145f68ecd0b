/**
 * TensorFlow.js for the zoo through tensor-core's bridge `initTf`, which registers the gradients the core
 * Node bundle lacks and tensor-core's own kernels. The zoo defaults to the wasm backend (not the bridge's
 * "auto" order) so results stay bit-identical to the committed zoo; `X_TF_BACKEND` overrides it.
 */
import type * as tfcore from "@tensorflow/tfjs-core";
import { initTf } from "@x/tensor-core/tfjs";

let ready: Promise<typeof tfcore> | undefined;

export function getTf(): Promise<typeof tfcore> {
  ready ??= (async () => {
    const wanted = process.env.X_TF_BACKEND?.trim() || "wasm";
    const rt = await initTf({ backend: wanted as "wasm" | "cpu" | "tensorflow" | "auto" });
    if (!rt.gradients)
      throw new Error("TensorFlow.js gradients unavailable: @tensorflow/tfjs-layers did not load");
    return rt.tf;
  })();
  return ready;
}

export type Tf = typeof tfcore;
