/**
 * TensorFlow.js for the zoo: tfjs-core with the wasm backend (default) or cpu (`X_TF_BACKEND=cpu`).
 * Importing tfjs-layers registers the gradients the core Node bundle lacks (toolchain spec §5.3).
 * The zoo's model is an MLP, so the missing wasm Conv2DBackpropFilter kernel does not matter here.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-layers";

let ready: Promise<typeof tf> | undefined;

export function getTf(): Promise<typeof tf> {
  ready ??= (async () => {
    const wanted = process.env.X_TF_BACKEND ?? "wasm";
    if (!(await tf.setBackend(wanted)))
      throw new Error(`TensorFlow.js backend '${wanted}' failed to initialise`);
    await tf.ready();
    return tf;
  })();
  return ready;
}

export type Tf = typeof tf;
