import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, describe, expect, it } from "vitest";
import {
  CheckpointError,
  canonicalJson,
  constant,
  DifferentialEvolution,
  DirectoryRunStore,
  describeChanges,
  fileDigest,
  fingerprintChanges,
  fingerprintHash,
  minimizeCmaEs,
  ScheduledControl,
} from "../src/index.js";

const tmp = mkdtempSync(join(tmpdir(), "evolution-fingerprint-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("run fingerprints", () => {
  it("canonical JSON sorts keys at every level and keeps -0, NaN and Infinity", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, -0], c: Number.NEGATIVE_INFINITY } })).toBe(
      '{"a":{"c":{"$f64":"-Infinity"},"d":[1,{"$f64":"-0"}]},"b":1}',
    );
    expect(fingerprintHash({ x: 1, y: 2 })).toBe(fingerprintHash({ y: 2, x: 1 }));
    expect(fingerprintHash({ x: 1 })).not.toBe(fingerprintHash({ x: 2 }));
  });

  it("names every changed, added and removed key", () => {
    const a = { seed: 1, merge: { method: "ta", lambda: 0.5 }, data: ["a", "b"], budget: 100 };
    const b = { seed: 1, merge: { method: "ta", lambda: 0.6, topK: 0.2 }, data: ["a", "c"] };
    const changes = fingerprintChanges(a, b);
    expect(changes.map((c) => c.key)).toEqual(["budget", "data[1]", "merge.lambda", "merge.topK"]);
    expect(changes[2]).toEqual({ key: "merge.lambda", checkpoint: 0.5, run: 0.6 });
    expect(describeChanges(changes)).toContain("merge.lambda: 0.5 in the checkpoint, 0.6 in this run");
    expect(describeChanges(changes)).toContain("budget: 100 in the checkpoint, absent in this run");
    expect(fingerprintChanges(a, { ...a })).toEqual([]);
  });

  it("a resume whose settings changed is refused naming the changed key", async () => {
    const dir = join(tmp, "de");
    const r = new Rng(1);
    const init = Array.from({ length: 5 }, () => r.fillUniform(new Float32Array(8), -1, 1) as Float32Array);
    const de = (settings: Record<string, unknown>, seed = 3) =>
      new DifferentialEvolution({
        strategy: "rand/1",
        crossover: { kind: "binomial", forceJRand: true },
        control: new ScheduledControl(constant(0.5), constant(0.5)),
        generations: 2,
        seed,
        store: new DirectoryRunStore(dir, { fsync: false, settings }),
        resume: true,
      });
    const score = (g: Float32Array) => -g.reduce((s, v) => s + v * v, 0);
    await de({ merge: { method: "ta", lambda: 0.5 }, evaluator: "dev.py" }).run(init, score);
    const err = await de({ merge: { method: "ta", lambda: 0.6 }, evaluator: "dev.py" })
      .run(init, score)
      .catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toContain("settings.merge.lambda: 0.5 in the checkpoint, 0.6 in this run");
    expect(err.changes.map((c: { key: string }) => c.key)).toEqual(["settings.merge.lambda"]);
    const seedErr = await de({ merge: { method: "ta", lambda: 0.5 }, evaluator: "dev.py" }, 4)
      .run(init, score)
      .catch((e) => e);
    expect(seedErr.message).toContain("seed: 3 in the checkpoint, 4 in this run");
    // same settings: resumes (finished run, no evaluation)
    let calls = 0;
    await de({ evaluator: "dev.py", merge: { lambda: 0.5, method: "ta" } }).run(init, (g) => {
      calls++;
      return score(g);
    });
    expect(calls).toBe(0);
  });

  it("CMA-ES refuses a resume with another budget, naming it", async () => {
    const dir = join(tmp, "cma");
    const opts = {
      x0: [1, 2],
      sigma0: 0.5,
      seed: 1,
      store: new DirectoryRunStore(dir, { fsync: false }),
      resume: true,
    };
    await minimizeCmaEs((x) => x[0] ** 2 + x[1] ** 2, { ...opts, maxEvaluations: 60 });
    await expect(minimizeCmaEs((x) => x[0] ** 2, { ...opts, maxEvaluations: 90 })).rejects.toThrow(
      "maxEvaluations: 60 in the checkpoint, 90 in this run",
    );
  });

  it("fileDigest gives size and SHA-256", async () => {
    const p = join(tmp, "data.bin");
    writeFileSync(p, "abc");
    expect(await fileDigest(p)).toEqual({
      bytes: 3,
      sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    });
  });
});
