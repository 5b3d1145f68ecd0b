// The in-memory API: mergeTensors over state dicts and mergeFlat over genomes with a layout give what
// the methods give when driven tensor by tensor (or through their sessions), for every scope.

import { describe, expect, it } from "vitest";
import {
  getMethod,
  MergeInputError,
  MergeMethodError,
  type MergeTensor,
  mergeFlat,
  mergeTensors,
} from "../../src/index.js";
import { runMethod, type ToyTensor, toyModel } from "../methods/helpers.js";

const SHAPES = { "layers.0.w": [6, 4], "layers.0.b": [6], "layers.1.w": [3, 6], norm: [3] };

function dicts(model: readonly ToyTensor[]) {
  const base = new Map<string, MergeTensor>(model.map((t) => [t.name, { shape: t.shape, data: t.base }]));
  const n = model[0]!.models.length;
  const models = Array.from(
    { length: n },
    (_, i) =>
      new Map<string, MergeTensor>(model.map((t) => [t.name, { shape: t.shape, data: t.models[i]! }])),
  );
  return { base, models };
}

/** The model as flat genomes (tensors in the given order) plus their layout. */
function genomes(model: readonly ToyTensor[]) {
  let offset = 3; // a gap before the first tensor: positions outside the layout stay untouched
  const layout = model.map((t) => {
    const e = { name: t.name, shape: t.shape, offset };
    offset += t.base.length;
    return e;
  });
  const flat = (pick: (t: ToyTensor) => Float32Array) => {
    const g = new Float32Array(offset);
    model.forEach((t, j) => {
      g.set(pick(t), layout[j]!.offset);
    });
    return g;
  };
  return {
    layout,
    base: flat((t) => t.base),
    models: model[0]!.models.map((_, i) => flat((t) => t.models[i]!)),
  };
}

const CASES: [string, Record<string, unknown>, Record<string, unknown>[]?][] = [
  ["linear", {}, [{ weight: 1 }, { weight: 2 }, { weight: 0.5 }]],
  ["task_arithmetic", { lambda: 0.7 }],
  ["ties", { lambda: 1 }, [{ density: 0.5 }, { density: 0.4 }, { density: 0.7 }]],
  ["dare_ties", {}, [{ density: 0.5 }, { density: 0.5 }, { density: 0.5 }]],
  ["ties", { variant: "pcb", lambda: 1.1 }, [{ density: 0.2 }, { density: 0.2 }, { density: 0.2 }]],
  ["pcb", { ratio: 0.2, lambda: 1.2 }, [{ weight: 1.1 }, { weight: 0.9 }, { weight: 1 }]],
  ["pcb", { ratio: 0.2, mode: "streaming-global", threads: 1 }],
  ["pcb", { ratio: 0.3, mode: "per-tensor", nan_guard: "on" }],
];

describe("mergeTensors / mergeFlat", () => {
  for (const [name, params, modelParams] of CASES) {
    it(`${name} ${JSON.stringify(params)}: same values as the method driven tensor by tensor`, () => {
      const model = toyModel(7, 3, SHAPES);
      const method = getMethod(name);
      const expected = runMethod(method, model, { params, modelParams, seed: 5 });
      const { base, models } = dicts(model);
      const got = mergeTensors(name, { base, models, params, modelParams, seed: 5 });
      expect([...got.keys()]).toEqual(model.map((t) => t.name));
      for (const t of model) {
        expect(got.get(t.name)!.shape).toEqual(t.shape);
        expect(got.get(t.name)!.data).toEqual(expected.get(t.name));
      }
      const g = genomes(model);
      const out = new Float32Array(g.base.length).fill(-7);
      const flat = mergeFlat(method, { ...g, params, modelParams, seed: 5, out });
      expect(flat).toBe(out);
      expect(Array.from(out.subarray(0, 3))).toEqual([-7, -7, -7]);
      g.layout.forEach((e, j) => {
        expect(out.subarray(e.offset, e.offset + model[j]!.base.length)).toEqual(expected.get(e.name));
      });
      // Inputs are never modified.
      expect(g.models[0]).toEqual(genomes(model).models[0]);
    });
  }

  it("takes plain objects, a subset of names, and per-tensor aux (Fisher, Gram, masks)", () => {
    const model = toyModel(3, 2, SHAPES);
    const rec = (pick: (t: ToyTensor) => Float32Array) =>
      Object.fromEntries(model.map((t) => [t.name, { shape: t.shape, data: pick(t) }]));
    const fisher = [0, 1].map((i) => rec((t) => t.models[i]!.map((v) => v * v + i)));
    const got = mergeTensors("fisher", {
      models: [rec((t) => t.models[0]!), rec((t) => t.models[1]!)],
      aux: { fisher },
      names: ["norm", "layers.0.b"],
    });
    expect([...got.keys()]).toEqual(["norm", "layers.0.b"]);
    const expected = runMethod(getMethod("fisher"), model, {
      aux: (t) => ({ fisher: fisher.map((f) => f[t.name]!.data) }),
    });
    expect(got.get("norm")!.data).toEqual(expected.get("norm"));
    // RegMean: the Gram matrix of a linear weight's inputs, by weight name.
    const g = Float32Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? 2 : 0.1));
    const grams = [0, 1].map(() => new Map([["layers.0.w", { shape: [4, 4], data: g }]]));
    const rm = mergeTensors("regmean", {
      models: dicts(model).models,
      aux: { gram: grams },
      names: ["layers.0.w", "layers.0.b"],
    });
    const rmExpected = runMethod(getMethod("regmean"), model.slice(0, 2), {
      aux: (t) => (t.name === "layers.0.w" ? { gram: [g, g] } : undefined),
    });
    expect(rm.get("layers.0.w")!.data).toEqual(rmExpected.get("layers.0.w"));
    expect(rm.get("layers.0.b")!.data).toEqual(rmExpected.get("layers.0.b"));
    // Injected DARE masks replace the seeded draw.
    const d = model[0]!.base.length;
    const mask = Uint8Array.from({ length: d }, (_, k) => k % 2);
    const masks = [0, 1].map(() => new Map([[model[0]!.name, mask]]));
    const dare = mergeTensors("dare_linear", {
      ...dicts(model),
      params: { rescale: false },
      modelParams: [{ density: 0.5 }, { density: 0.5 }],
      aux: { masks },
      names: [model[0]!.name],
    });
    const t0 = model[0]!;
    for (let k = 0; k < d; k++) {
      const delta = t0.models[0]![k]! - t0.base[k]! + (t0.models[1]![k]! - t0.base[k]!);
      expect(dare.get(t0.name)!.data[k]).toBeCloseTo(k % 2 ? t0.base[k]! + delta : t0.base[k]!, 6);
    }
  });

  it("names the model and tensor of missing or mismatched inputs, and checks parameters", () => {
    const model = toyModel(2, 2, SHAPES);
    const { base, models } = dicts(model);
    const short = new Map(models[1]!);
    short.delete("norm");
    expect(() => mergeTensors("task_arithmetic", { base, models: [models[0]!, short] })).toThrow(
      new MergeInputError("model 1 has no tensor 'norm'"),
    );
    const bad = new Map(models[1]!);
    bad.set("norm", { shape: [4], data: new Float32Array(4) });
    expect(() =>
      mergeTensors("task_arithmetic", {
        base,
        models: [models[0]!, bad],
        labels: { models: ["./a", "./b"] },
      }),
    ).toThrow(/\.\/b: tensor 'norm' has shape \[4\], expected \[3\]/);
    expect(() => mergeTensors("task_arithmetic", { models })).toThrow(/needs a base model/);
    expect(() => mergeTensors("ties", { base, models, params: { densty: 1 } })).toThrow(MergeMethodError);
    expect(() => mergeTensors("linear", { models, modelParams: [{}] })).toThrow(
      /1 per-model parameter sets for 2/,
    );
    const g = genomes(model);
    expect(() => mergeFlat("linear", { ...g, models: [g.models[0]!, g.models[1]!.subarray(1)] })).toThrow(
      /model 1 has \d+ values/,
    );
    expect(() => mergeFlat("linear", { ...g, layout: [{ name: "x", shape: [1000], offset: 0 }] })).toThrow(
      /'x' \[0, 1000\) lies outside/,
    );
  });
});
