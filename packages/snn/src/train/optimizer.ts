import type * as tfc from "@tensorflow/tfjs-core";
import { SnnConfigError } from "../errors.js";
import type { Tf } from "../layer/tf.js";

/** SGD with (Nesterov) momentum and L2 weight decay, as PyTorch's `torch.optim.SGD` computes it. */
export interface SgdOptions {
  readonly kind: "sgd";
  readonly lr: number;
  readonly momentum?: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

/** Adam (PyTorch's `torch.optim.Adam`, L2 weight decay added to the gradient). */
export interface AdamOptions {
  readonly kind: "adam";
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  readonly weightDecay?: number;
}

export type OptimizerOptions = SgdOptions | AdamOptions;

export function validateOptimizer(o: OptimizerOptions): OptimizerOptions {
  if (o?.kind !== "sgd" && o?.kind !== "adam") {
    throw new SnnConfigError(
      `optimizer.kind must be "sgd" or "adam", got ${JSON.stringify((o as { kind?: unknown } | undefined)?.kind)}`,
    );
  }
  if (!(Number.isFinite(o.lr) && o.lr > 0)) throw new SnnConfigError(`optimizer.lr must be > 0, got ${o.lr}`);
  return o;
}

/**
 * The optimizer's state is a set of named tensors (momentum buffers, Adam moments) plus a step count, so a
 * checkpoint holds it exactly and a resumed run continues bit for bit.
 */
export class Optimizer {
  readonly slots = new Map<string, tfc.Tensor>();
  step = 0;
  constructor(
    private readonly tf: Tf,
    readonly options: OptimizerOptions,
  ) {
    validateOptimizer(options);
  }

  /** One update of every variable that has a gradient, at learning rate `lr`. */
  apply(vars: Map<string, tfc.Variable>, grads: Record<string, tfc.Tensor>, lr: number): void {
    const tf = this.tf;
    const o = this.options;
    this.step++;
    const wd = o.weightDecay ?? 0;
    for (const [name, v] of vars) {
      const g0 = grads[v.name];
      if (!g0) continue;
      tf.tidy(() => {
        const g = wd > 0 ? tf.add(g0, tf.mul(v, wd)) : g0;
        if (o.kind === "sgd") {
          const mu = o.momentum ?? 0.9;
          let d = g;
          if (mu > 0) {
            const prev = this.slots.get(`momentum.${name}`);
            const buf = prev ? tf.add(tf.mul(prev, mu), g) : tf.clone(g);
            this.swap(`momentum.${name}`, buf);
            d = o.nesterov ? tf.add(g, tf.mul(buf, mu)) : buf;
          }
          v.assign(tf.sub(v, tf.mul(d, lr)));
        } else {
          const b1 = o.beta1 ?? 0.9;
          const b2 = o.beta2 ?? 0.999;
          const eps = o.epsilon ?? 1e-8;
          const m0 = this.slots.get(`m.${name}`) ?? tf.zerosLike(v);
          const v0 = this.slots.get(`v.${name}`) ?? tf.zerosLike(v);
          const m = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
          const s = tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2));
          this.swap(`m.${name}`, m);
          this.swap(`v.${name}`, s);
          const c1 = 1 - b1 ** this.step;
          const c2 = 1 - b2 ** this.step;
          const denom = tf.add(tf.div(tf.sqrt(s), Math.sqrt(c2)), eps);
          v.assign(tf.sub(v, tf.mul(tf.div(m, denom), lr / c1)));
        }
      });
    }
  }

  private swap(key: string, t: tfc.Tensor): void {
    const old = this.slots.get(key);
    this.slots.set(key, this.tf.keep(t));
    if (old && old !== t) old.dispose();
  }

  /** Restores slots (float32 data + shape) and the step count. */
  restore(step: number, slots: Map<string, { data: Float32Array; shape: number[] }>): void {
    this.dispose();
    this.step = step;
    for (const [k, s] of slots) this.slots.set(k, this.tf.tensor(s.data, s.shape, "float32"));
  }

  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }
}
