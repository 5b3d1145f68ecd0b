/**
 * Fast validation of merges that are linear in a few coefficients: θ(c) = θ₀ + Σ_j c_j D_j (a λ grid has one
 * direction; PCB's per-task λ_i has one direction per task, since τ_m = Σ_i λ_i T̃_i W_i / Σ_i W_i).
 * The first layer dominates the cost (784 inputs), and its pre-activation is linear in c too:
 * X W(c)ᵀ + b(c) = P₀ + Σ_j c_j P_j. The P's are computed once per task; each candidate then costs an
 * elementwise combination plus the small upper layers — identical accuracies, several times cheaper.
 */
import type * as tfTypes from "@tensorflow/tfjs-core";
import { IMAGE_SIZE } from "@x/datasets";
import type { Zoo } from "@x/zoo";
import { getTf, layerShapes, type Params } from "@x/zoo";
/** Which split of each task an evaluator scores. */
export type Split = "val" | "test";

type T2 = tfTypes.Tensor2D;

export class LinearPathEvaluator {
  evaluations = 0;
  private constructor(
    private readonly tf: typeof tfTypes,
    private readonly zoo: Zoo,
    private readonly taskIdx: readonly number[],
    private readonly split: Split,
    private readonly base: Params,
    private readonly directions: readonly Params[],
    /** Per task: [P₀, P₁, …] first-layer pre-activations. */
    private readonly pre: T2[][],
  ) {}

  static async create(
    zoo: Zoo,
    taskIdx: readonly number[],
    split: Split,
    base: Params,
    directions: readonly Params[],
  ) {
    const tf = await getTf();
    const first = layerShapes(zoo.config.arch)[0]!;
    const pre = taskIdx.map((k) =>
      tf.tidy(() => {
        const set = zoo.data.tasks[k]![split];
        const x = tf.tensor2d(set.images.subarray(0, set.count * IMAGE_SIZE), [set.count, IMAGE_SIZE]);
        return [base, ...directions].map((p) => {
          const w = tf.tensor2d(p.get(`${first.name}.weight`)!.data, [first.outDim, first.inDim]);
          return tf.keep(
            tf.add(tf.matMul(x, w, false, true), tf.tensor1d(p.get(`${first.name}.bias`)!.data)),
          ) as T2;
        });
      }),
    );
    return new LinearPathEvaluator(tf, zoo, taskIdx, split, base, directions, pre);
  }

  /** Per-task accuracy of θ₀ + Σ_j c_j D_j with the experts' heads. */
  accuracy(c: ArrayLike<number>): number[] {
    if (c.length !== this.directions.length)
      throw new Error(`expected ${this.directions.length} coefficients, got ${c.length}`);
    const tf = this.tf;
    this.evaluations++;
    const layers = layerShapes(this.zoo.config.arch);
    return tf.tidy(() => {
      // Upper layers' weights at c (small: computed in JS, uploaded once per candidate).
      const upper = layers.slice(1).map((l) => {
        const w = combine(this.base, this.directions, c, `${l.name}.weight`);
        const b = combine(this.base, this.directions, c, `${l.name}.bias`);
        return { w: tf.tensor2d(w, [l.outDim, l.inDim]), b: tf.tensor1d(b) };
      });
      return this.taskIdx.map((k, t) => {
        const p = this.pre[t]!;
        let z: T2 = p[0]!;
        for (let j = 0; j < c.length; j++) if (c[j] !== 0) z = tf.add(z, tf.mul(p[j + 1]!, c[j]!));
        let h = tf.relu(z) as T2;
        for (const l of upper) h = tf.relu(tf.add(tf.matMul(h, l.w, false, true), l.b)) as T2;
        const head = this.zoo.experts[k]!.head;
        const logits = tf.add(
          tf.matMul(h, tf.tensor2d(head.weight.data, head.weight.shape as [number, number]), false, true),
          tf.tensor1d(head.bias.data),
        );
        const pred = tf.argMax(logits, 1).dataSync();
        const labels = this.zoo.data.tasks[k]![this.split].labels;
        let correct = 0;
        for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) correct++;
        return correct / labels.length;
      });
    });
  }

  dispose(): void {
    for (const ps of this.pre) for (const p of ps) p.dispose();
  }
}

function combine(base: Params, dirs: readonly Params[], c: ArrayLike<number>, key: string): Float32Array {
  const out = base.get(key)!.data.slice();
  dirs.forEach((d, j) => {
    const cj = c[j]!;
    if (cj === 0) return;
    const dd = d.get(key)!.data;
    for (let i = 0; i < out.length; i++) out[i]! += cj * dd[i]!;
  });
  return out;
}

/** D = θ₁ − θ₀ per tensor. */
export function differenceOf(merged: Params, base: Params): Params {
  const out: Params = new Map();
  for (const [k, b] of base) {
    const m = merged.get(k)!.data;
    const d = new Float32Array(m.length);
    for (let i = 0; i < d.length; i++) d[i] = m[i]! - b.data[i]!;
    out.set(k, { shape: b.shape, data: d });
  }
  return out;
}
