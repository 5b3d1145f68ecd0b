import { buildZoo, type Param, type Params, quickZooConfig } from "@x/zoo";
import { describe, expect, it } from "vitest";

// Training on worker threads must give the zoo that in-process training gives, bit for bit. The
// package is imported by name: the integration project resolves it to the build, whose trainer pool
// starts the built train-worker.js (the same build).
const cfg = { ...quickZooConfig(4, 2), sizes: { train: 120, val: 40, test: 60, pretrainPerSource: 100 } };

const bytes = (p: Param) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);

function expectSame(a: Params, b: Params, what: string): void {
  expect([...a.keys()], what).toEqual([...b.keys()]);
  for (const [name, p] of a) {
    expect(p.shape, `${what} ${name}`).toEqual(b.get(name)!.shape);
    expect(bytes(p).equals(bytes(b.get(name)!)), `${what} ${name}`).toBe(true);
  }
}

const headParams = (h: { weight: Param; bias: Param }): Params =>
  new Map([
    ["weight", h.weight],
    ["bias", h.bias],
  ]);

describe("zoo training in worker threads", () => {
  it("gives bit-identical experts, statistics and joint model to in-process training", async () => {
    const steps: [string, number, number][] = [];
    const threaded = await buildZoo(cfg, {
      workers: 2,
      persist: false,
      progress: (phase, done, total) => steps.push([phase, done, total]),
    });
    const local = await buildZoo(cfg, { workers: 0, persist: false });
    expect(threaded.experts.map((e) => e.name)).toEqual(["mnist-digits", "fashion-classes"]);
    expect(local.experts.map((e) => e.name)).toEqual(threaded.experts.map((e) => e.name));
    expectSame(threaded.pretrained.backbone, local.pretrained.backbone, "pretrained");
    expectSame(threaded.joint.backbone, local.joint.backbone, "joint");
    threaded.joint.heads.forEach((h, k) => {
      expectSame(headParams(h), headParams(local.joint.heads[k]!), `joint head ${k}`);
    });
    threaded.experts.forEach((e, k) => {
      const l = local.experts[k]!;
      expectSame(e.backbone, l.backbone, `expert ${e.name}`);
      expectSame(headParams(e.head), headParams(l.head), `expert ${e.name} head`);
      expectSame(e.fisher, l.fisher, `expert ${e.name} fisher`);
      expectSame(e.grams, l.grams, `expert ${e.name} grams`);
    });
    expect(threaded.summary.tasks).toEqual(local.summary.tasks);
    // Progress from the worker threads reaches the caller, up to the last step of the experts and joint model.
    const last = steps.filter(([phase]) => phase === "experts+joint").at(-1)!;
    expect(last[1]).toBe(last[2]);
    expect(steps.some(([phase]) => phase === "pretrain")).toBe(true);
  });
});
