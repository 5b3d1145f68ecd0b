// Test helpers: synthetic models, a driver over the merge core (MergeRun), and float checks.
import { Rng } from "@x/tensor-core";
import { expect } from "vitest";
import { type MergeMethod, MergeRun, resolveParams, type TensorAux } from "../../src/index.js";

export interface ToyTensor {
  readonly name: string;
  readonly shape: number[];
  readonly base: Float32Array;
  readonly models: Float32Array[];
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A base and n fine-tuned models with task-vector-like deltas (mostly small, a few large). */
export function toyModel(seed: number, n: number, shapes: Record<string, number[]>): ToyTensor[] {
  const rng = new Rng(seed);
  return Object.entries(shapes).map(([name, shape]) => {
    const d = numel(shape);
    const base = new Float32Array(d);
    rng.fillNormal(base, 0, 0.05);
    const models = Array.from({ length: n }, () => {
      const m = new Float32Array(d);
      for (let k = 0; k < d; k++) {
        const big = rng.uniform() < 0.05 ? 10 : 1;
        m[k] = base[k] + rng.normal(0, 0.01 * big);
      }
      return m;
    });
    return { name, shape, base, models };
  });
}

/** Flattens task vectors (θ_i − θ₀) over tensors in sorted name order, as the reference code does. */
export function flatTasks(tensors: readonly ToyTensor[]): Float32Array[] {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1));
  const d = sorted.reduce((s, t) => s + t.base.length, 0);
  const n = tensors[0].models.length;
  return Array.from({ length: n }, (_, i) => {
    const row = new Float32Array(d);
    let off = 0;
    for (const t of sorted) {
      for (let k = 0; k < t.base.length; k++) row[off + k] = t.models[i][k] - t.base[k];
      off += t.base.length;
    }
    return row;
  });
}

export interface RunOptions {
  params?: Record<string, unknown>;
  modelParams?: Record<string, unknown>[];
  seed?: number;
  /** Visit order of tensors in each pass (default: given order). */
  order?: (pass: number) => readonly ToyTensor[];
  aux?: (t: ToyTensor) => TensorAux | undefined;
}

/** Runs a method over all tensors through the merge core (per tensor, or passes + mergeTensor). */
export function runMethod(
  method: MergeMethod,
  tensors: readonly ToyTensor[],
  opts: RunOptions = {},
): Map<string, Float32Array> {
  const n = tensors[0].models.length;
  const { params, modelParams } = resolveParams(
    method,
    opts.params ?? {},
    opts.modelParams ?? Array.from({ length: n }, () => ({})),
  );
  const out = new Map<string, Float32Array>();
  const run = new MergeRun({
    method,
    params,
    modelParams,
    tensors: tensors.map((t) => ({ name: t.name, shape: t.shape })),
    seed: opts.seed ?? 0,
  });
  const orders = new Map<number, readonly ToyTensor[]>();
  const orderOf = (pass: number) => {
    const o = orders.get(pass) ?? opts.order?.(pass) ?? tensors;
    orders.set(pass, o);
    return o;
  };
  try {
    for (const step of run.passSteps()) {
      if (step.tensor === undefined) {
        step.pass.finish();
        continue;
      }
      const t = orderOf(step.passIndex)[step.tensor]!;
      step.pass.visit({ name: t.name, shape: t.shape, base: t.base, models: t.models });
    }
    for (const t of tensors) {
      out.set(
        t.name,
        run.mergeTensor({ name: t.name, shape: t.shape, base: t.base, models: t.models, aux: opts.aux?.(t) }),
      );
    }
  } finally {
    run.close();
  }
  return out;
}

/** Asserts |a − e| ≤ tol·(1 + |e|) everywhere (NaN matches NaN only). */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = "",
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k];
    const e = expected[k];
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    const err =
      Number.isNaN(a) || Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.abs(a - e) / (1 + Math.abs(e));
    if (err > worst) {
      worst = err;
      at = k;
    }
  }
  expect(
    worst,
    `${what}: worst relative error at index ${at}: ${actual[at]} vs ${expected[at]}`,
  ).toBeLessThanOrEqual(tol);
}
