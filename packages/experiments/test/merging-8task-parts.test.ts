import { pcbMerge, tiesPcbMerge } from "@x/merging";
import { buildZoo, flattenBackbone, type Params, quickZooConfig, type Zoo } from "@x/zoo";
import { beforeAll, describe, expect, it } from "vitest";
import { Evaluator } from "../src/merging-8task/evaluator.js";
import { mergeBackbone } from "../src/merging-8task/merge.js";
import { differenceOf } from "../src/merging-8task/path-eval.js";
import { combineDirections, mergeInputs, pcbTaskDirections } from "../src/merging-8task/run.js";
import { scaleFromBase } from "../src/merging-8task/tune.js";

function maxAbsDiff(a: Params, b: Params): number {
  let m = 0;
  for (const [k, p] of a) {
    const q = b.get(k)!.data;
    for (let i = 0; i < p.data.length; i++) m = Math.max(m, Math.abs(p.data[i]! - q[i]!));
  }
  return m;
}

// A real (small) 3-task zoo in memory: the adapter, the λ shortcut and the fast evaluator are checked on it.
// PCB runs on one thread here: its store threads start only from the built package, and unit tests run
// the sources (results do not depend on the thread count).
describe("merging benchmark parts", () => {
  let zoo: Zoo;
  beforeAll(async () => {
    const cfg = { ...quickZooConfig(5, 3), sizes: { train: 100, val: 60, test: 60, pretrainPerSource: 100 } };
    zoo = await buildZoo(cfg, { persist: false, workers: 0 });
  });

  it("θ₀ + λ(θ₁ − θ₀) equals calling the method with λ (task arithmetic, PCB-repo TIES, PCB)", () => {
    const inputs = mergeInputs(zoo, [0, 1, 2]);
    for (const [method, extra] of [
      ["task_arithmetic", {}],
      ["ties", { variant: "pcb", density: 0.2 }],
      ["pcb", { ratio: 0.1, threads: 1 }],
    ] as const) {
      const one = mergeBackbone(inputs, { method, params: { ...extra, lambda: 1 } });
      const direct = mergeBackbone(inputs, { method, params: { ...extra, lambda: 0.7 } });
      expect(maxAbsDiff(scaleFromBase(inputs.base, one, 0.7), direct), method).toBeLessThan(1e-6);
    }
  });

  it("the global-scope adapter feeds methods the backbone flattened in sorted-key order", () => {
    const inputs = mergeInputs(zoo, [0, 1, 2]);
    const arch = zoo.config.arch;
    const base = flattenBackbone(arch, inputs.base);
    const tasks = inputs.models.map((m) => flattenBackbone(arch, m).map((v, i) => v - base[i]!));
    const viaAdapter = flattenBackbone(
      arch,
      mergeBackbone(inputs, { method: "ties", params: { variant: "pcb", density: 0.1, lambda: 1 } }),
    );
    const tau = tiesPcbMerge(tasks, { topK: [0.1, 0.1, 0.1] });
    for (let i = 0; i < base.length; i += 97) expect(viaAdapter[i]).toBeCloseTo(base[i]! + tau[i]!, 6);
    const pcb = flattenBackbone(
      arch,
      mergeBackbone(inputs, { method: "pcb", params: { ratio: 0.05, lambda: 1, threads: 1 } }),
    );
    const tauPcb = pcbMerge(tasks, { ratio: 0.05 });
    for (let i = 0; i < base.length; i += 97) expect(pcb[i]).toBeCloseTo(base[i]! + tauPcb[i]!, 6);
  });

  it("PCB per-task directions reproduce the registry's per-task λ_i merge", () => {
    const inputs = mergeInputs(zoo, [0, 1, 2]);
    const lambdas = [0.6, 1.3, 2.1];
    const dirs = pcbTaskDirections(inputs, 0.1);
    const fast = combineDirections(inputs.base, dirs, lambdas);
    const registry = mergeBackbone(inputs, {
      method: "pcb",
      params: { ratio: 0.1, lambda: 1, threads: 1 },
      modelParams: lambdas.map((weight) => ({ weight })),
    });
    expect(maxAbsDiff(fast, registry)).toBeLessThan(1e-5);
  });

  it("the linear-path evaluator gives the accuracies of evaluating the merged backbone directly", async () => {
    const inputs = mergeInputs(zoo, [0, 1, 2]);
    const ev = new Evaluator(zoo, [0, 1, 2]);
    const one = mergeBackbone(inputs, { method: "task_arithmetic", params: { lambda: 1 } });
    const path = await ev.path("val", inputs.base, [differenceOf(one, inputs.base)]);
    for (const lambda of [0.2, 0.5, 1.1]) {
      const fast = path.accuracy([lambda]);
      const slow = await ev.accuracy(scaleFromBase(inputs.base, one, lambda), "val");
      // Same model; float rounding may flip at most a borderline sample.
      for (let k = 0; k < fast.length; k++)
        expect(Math.abs(fast[k]! - slow[k]!)).toBeLessThanOrEqual(1 / 60 + 1e-12);
    }
    path.dispose();
    expect(ev.evaluations).toBe(6);
  });
});
