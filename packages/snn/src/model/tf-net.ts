import type * as tfc from "@tensorflow/tfjs-core";
import type { Tensor as T } from "@tensorflow/tfjs-core";
import type { SnnModel } from "../genome/layout.js";
import { batchMoments, batchNormApply, connectTf, multiStepNeuron, type Tf } from "../layer/tf.js";
import { BN_MOMENTUM, buildGraph, type Graph, INPUT_SIDE, type Unit } from "./spec.js";

let instances = 0;

/** Batch statistics of one BN in a training forward pass, and how many values they were taken over. */
export interface BatchStats {
  readonly mean: T;
  readonly variance: T;
  readonly count: number;
}

/**
 * A model as TensorFlow.js variables, for surrogate-gradient training and as the reference forward pass.
 * Trainable: synapse weights, BN γ / β, head. BN running statistics are plain tensors updated after each
 * training step. Weights keep the checkpoint layouts (dense [out, in], conv [co, ci, k, k]); convs run in NHWC.
 */
export class TfSnn {
  readonly graph: Graph;
  readonly trainable: Map<string, tfc.Variable>;
  readonly running: Map<string, T>;
  constructor(
    readonly tf: Tf,
    model: SnnModel,
  ) {
    this.graph = buildGraph(model.spec);
    this.trainable = new Map();
    this.running = new Map();
    const id = instances++;
    for (const e of model.layout.entries) {
      const t = tf.tensor(model.tensor(e.name).slice(), [...e.shape], "float32");
      if (e.role === "bn.running_mean" || e.role === "bn.running_var") this.running.set(e.name, t);
      else {
        this.trainable.set(e.name, tf.variable(t, true, `snn${id}/${e.name}`));
        t.dispose();
      }
    }
  }

  private param(name: string): T {
    return (this.trainable.get(name) ?? this.running.get(name))!;
  }

  /** Synapse output for a batch laid out [N, features] (dense) or [N, side, side, C] (conv). */
  private synapse(u: Unit, x: T): T {
    const tf = this.tf;
    const s = u.synapse;
    const w = this.param(s.weight);
    if (s.kind === "dense") return tf.matMul(x, w, false, true);
    const filter = tf.transpose(w, [2, 3, 1, 0]) as tfc.Tensor4D;
    return tf.conv2d(x as tfc.Tensor4D, filter, s.stride, s.pad === 0 ? "valid" : s.pad);
  }

  private bn(u: Unit, x: T, training: boolean, stats: Map<string, BatchStats> | null, replicas: number): T {
    const tf = this.tf;
    const gamma = this.param(`${u.bn}.weight`);
    const beta = this.param(`${u.bn}.bias`);
    if (!training) {
      return batchNormApply(
        tf,
        x,
        this.param(`${u.bn}.running_mean`),
        this.param(`${u.bn}.running_var`),
        gamma,
        beta,
      );
    }
    const { mean, variance } = batchMoments(tf, x);
    const count = (x.size / u.channels) * replicas;
    stats?.set(u.bn, { mean: tf.keep(mean), variance: tf.keep(variance), count });
    return batchNormApply(tf, x, mean, variance, gamma, beta);
  }

  /** Synapse + BN + neuron over T steps: input [T·B, ...] → spikes [T·B, ...]. */
  private unitSeq(u: Unit, x: T, training: boolean, stats: Map<string, BatchStats> | null): T {
    const tf = this.tf;
    const steps = this.graph.spec.timeSteps;
    const y = this.bn(u, this.synapse(u, x), training, stats, 1);
    return tf.concat(multiStepNeuron(tf, this.graph.spec.neuron, tf.split(y, steps, 0)), 0);
  }

  /**
   * Logits [B, classes] for images [B, 784] (direct encoding: the stem runs once, its BN over the T identical
   * copies equals its BN over B, and the stem neuron gets that current at every step; logits averaged over T).
   * In training mode, BN uses batch statistics and records them in `stats` (kept tensors; the caller disposes).
   */
  forward(images: T, training: boolean, stats: Map<string, BatchStats> | null = null): T {
    const tf = this.tf;
    const g = this.graph;
    const steps = g.spec.timeSteps;
    const b = images.shape[0];
    let x: T = g.stem.synapse.kind === "conv" ? tf.reshape(images, [b, INPUT_SIDE, INPUT_SIDE, 1]) : images;
    const stemCurrent = this.bn(g.stem, this.synapse(g.stem, x), training, stats, steps);
    x = tf.concat(multiStepNeuron(tf, g.spec.neuron, new Array(steps).fill(stemCurrent)), 0);
    for (const blk of g.blocks) {
      const a = this.unitSeq(blk.unit2, this.unitSeq(blk.unit1, x, training, stats), training, stats);
      const s = blk.down ? this.unitSeq(blk.down, x, training, stats) : x;
      x = connectTf(tf, g.spec.connect, a, s);
    }
    const feats = g.stem.synapse.kind === "conv" ? tf.mean(x, [1, 2]) : x;
    const logits = tf.add(tf.matMul(feats, this.param("fc.weight"), false, true), this.param("fc.bias"));
    return tf.mean(tf.reshape(logits, [steps, b, g.spec.classes]), 0);
  }

  /** running := (1 − m)·running + m·batch, with the unbiased variance (n/(n − 1)) as PyTorch does. */
  updateRunningStats(stats: Map<string, BatchStats>): void {
    const tf = this.tf;
    for (const [bn, s] of stats) {
      const rm = this.running.get(`${bn}.running_mean`)!;
      const rv = this.running.get(`${bn}.running_var`)!;
      const nm = tf.tidy(() => tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(s.mean, BN_MOMENTUM)));
      const unbiased = s.count > 1 ? s.count / (s.count - 1) : 1;
      const nv = tf.tidy(() =>
        tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(s.variance, BN_MOMENTUM * unbiased)),
      );
      rm.dispose();
      rv.dispose();
      this.running.set(`${bn}.running_mean`, nm);
      this.running.set(`${bn}.running_var`, nv);
    }
  }

  /** Copies every tensor back into the model's genome. */
  writeTo(model: SnnModel): void {
    for (const [name, v] of this.trainable) model.tensor(name).set(v.dataSync() as Float32Array);
    for (const [name, t] of this.running) model.tensor(name).set(t.dataSync() as Float32Array);
  }

  dispose(): void {
    for (const v of this.trainable.values()) v.dispose();
    for (const t of this.running.values()) t.dispose();
    this.trainable.clear();
    this.running.clear();
  }
}
