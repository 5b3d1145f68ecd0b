/**
 * Accuracy of a backbone with task heads. The backbone is uploaded once and every task's set is pushed through
 * it in chunks, so evaluating a merged candidate on all tasks costs one weight upload plus the matmuls.
 */
import { IMAGE_SIZE, type ImageSet } from "@x/datasets";
import { type Head, layerShapes, type MlpArch, type Params } from "./model.js";
import { getTf, type Tf } from "./tf.js";

const CHUNK = 2048;

export interface EvalTask {
  readonly head: Head;
  readonly data: ImageSet;
}

/** Top-1 accuracy of `backbone` + each task's head on that task's set (one number per task, in [0, 1]). */
export async function evaluateTasks(
  arch: MlpArch,
  backbone: Params,
  tasks: readonly EvalTask[],
): Promise<number[]> {
  const tf = await getTf();
  return tf.tidy(() => {
    // Weights are stored [out, in]; transpose once here so every chunk runs a plain x·W product
    // (tfjs-wasm matMul with transposeB is ~10x slower than the untransposed product).
    const layers = layerShapes(arch).map((l) => ({
      wT: tf.transpose(tf.tensor2d(backbone.get(`${l.name}.weight`)!.data, [l.outDim, l.inDim])),
      b: tf.tensor1d(backbone.get(`${l.name}.bias`)!.data),
    }));
    return tasks.map((t) => {
      const wT = tf.transpose(tf.tensor2d(t.head.weight.data, t.head.weight.shape as [number, number]));
      const b = tf.tensor1d(t.head.bias.data);
      let correct = 0;
      for (let start = 0; start < t.data.count; start += CHUNK) {
        const n = Math.min(CHUNK, t.data.count - start);
        const pred = tf.tidy(() => {
          const x = tf.tensor2d(t.data.images.subarray(start * IMAGE_SIZE, (start + n) * IMAGE_SIZE), [
            n,
            IMAGE_SIZE,
          ]);
          return tf.argMax(tf.add(tf.matMul(forwardT(tf, layers, x), wT), b), 1);
        });
        const p = pred.dataSync();
        pred.dispose();
        for (let i = 0; i < n; i++) if (p[i] === t.data.labels[start + i]) correct++;
      }
      return t.data.count > 0 ? correct / t.data.count : Number.NaN;
    });
  });
}

/** Backbone features relu(...relu(x W1^T + b1)...) with the weights already transposed to [in, out]. */
function forwardT(
  tf: Tf,
  layers: readonly { wT: ReturnType<Tf["tensor2d"]>; b: ReturnType<Tf["tensor1d"]> }[],
  x: ReturnType<Tf["tensor2d"]>,
): ReturnType<Tf["tensor2d"]> {
  let h = x;
  for (const l of layers) h = tf.relu(tf.add(tf.matMul(h, l.wT), l.b)) as typeof x;
  return h;
}
