// PCB streaming-global keeps T, then the balance scores, in a task store: in memory or spilled to a
// self-deleting temp file. Every layout and chunking must give reference mode's bytes, through the
// session API and through the checkpoint pipeline, and leave no file behind.

import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  getMethod,
  type MergeProgressEvent,
  mergeCheckpoints,
  parseMergeConfig,
  resolveParams,
} from "../../src/index.js";
import { resolvePcbOptions } from "../../src/pcb/options.js";
import {
  type StreamingPcbHooks,
  type StreamingPcbOptions,
  streamingPcbSession,
} from "../../src/pcb/streaming.js";
import { createTaskStore } from "../../src/pcb/task-store.js";
import { fineTune, randomModel, writeModelDir } from "../pipeline/fixtures.js";
import { runMethod, type ToyTensor, toyModel } from "./helpers.js";

let spill: string;
beforeAll(async () => {
  spill = await mkdtemp(join(tmpdir(), "x-pcb-spill-test-"));
});
afterAll(() => rm(spill, { recursive: true, force: true }));

const shapes = { "layers.0.w": [16, 12], "layers.0.b": [16], "layers.1.w": [8, 16], emb: [20, 8], norm: [8] };

/** Drives a streaming-global session directly (shuffled visit order) and returns every merged tensor. */
function runStreaming(
  model: ToyTensor[],
  params: {
    ratio: number;
    lambda: number;
    inter: "canonical" | "vision" | "pairwise";
    nan_guard?: "on" | "off";
  },
  weights: number[],
  store: StreamingPcbOptions,
  seed: number,
  hooks: StreamingPcbHooks = {},
): Map<string, Float32Array> {
  const o = resolvePcbOptions({
    ratio: params.ratio,
    inter: params.inter,
    nanGuard: params.nan_guard ?? "error",
  });
  const modelParams = weights.map((weight) => ({ weight }));
  // One thread: store threads run only the built package (test/integration/threads.test.ts).
  const session = streamingPcbSession(
    {
      tensors: model.map((t) => ({ name: t.name, shape: t.shape })),
      numModels: weights.length,
      modelParams,
      params: {},
      seed: 0,
    },
    o,
    params.lambda,
    "pcb streaming-global",
    { threads: 1, ...store },
    hooks,
  );
  const rng = new Rng(seed);
  try {
    for (const pass of session.passes) {
      if (pass.readsTensors !== false) for (const t of rng.shuffle([...model])) pass.visit(t);
      pass.finish();
      expect(readdirSync(spill)).toEqual([]); // the spill file is unlinked as soon as it is open
    }
    const out = new Map<string, Float32Array>();
    for (const t of rng.shuffle([...model])) {
      out.set(t.name, session.mergeTensor({ ...t, modelParams, params: {}, rng }));
    }
    return out;
  } finally {
    session.close?.();
  }
}

describe("pcb streaming-global task store", () => {
  for (const inter of ["canonical", "vision", "pairwise"] as const) {
    it(`memory and spilled stores, whole and tiny chunks, equal reference mode bit for bit (${inter})`, () => {
      for (const seed of [5, 6]) {
        const model = toyModel(seed, 3, shapes);
        const params = { ratio: 0.2, lambda: 0.7, inter };
        const weights = [1.1, 0.9, 1.3];
        const ref = runMethod(getMethod("pcb"), model, {
          params,
          modelParams: weights.map((weight) => ({ weight })),
        });
        const layouts: StreamingPcbOptions[] = [
          { memoryBudget: 1e9 },
          { memoryBudget: 1e9, chunk: 7 },
          { memoryBudget: 0, spillDir: spill },
          { memoryBudget: 0, spillDir: spill, chunk: 13 },
        ];
        for (const layout of layouts) {
          const got = runStreaming(model, params, weights, layout, seed);
          for (const t of model)
            expect(got.get(t.name), `${JSON.stringify(layout)} ${t.name}`).toEqual(ref.get(t.name));
        }
      }
    });
  }

  it("drop threshold from the sampled window or by sweeping: reference bytes at D > sample", () => {
    // 3 tasks × 150 k parameters: the sample (256 blocks of 256 columns) covers under half of the columns.
    const big = { "a.w": [300, 400], "b.w": [30000], "c.b": [7] };
    for (const inter of ["canonical", "pairwise"] as const) {
      const model = toyModel(inter === "canonical" ? 41 : 42, 3, big);
      const params = { ratio: 0.1, lambda: 1, inter };
      const weights = [1, 1.2, 0.8];
      // Reference mode: the default (streaming-global on every core) would start store threads.
      const ref = runMethod(getMethod("pcb"), model, {
        params: { ...params, mode: "reference" },
        modelParams: weights.map((weight) => ({ weight })),
      });
      const cases: [StreamingPcbOptions, "window" | "sweep"][] = [
        [{ memoryBudget: 1e9 }, "window"],
        [{ memoryBudget: 1e9, chunk: 4096, windowSlack: -1 }, "sweep"],
        [{ memoryBudget: 1e9, windowSlack: 0 }, "window"],
        [{ memoryBudget: 0, spillDir: spill, chunk: 5000 }, "window"],
        [{ memoryBudget: 0, spillDir: spill, chunk: 5000, windowSlack: -1 }, "sweep"],
      ];
      for (const [layout, path] of cases) {
        let paths: readonly string[] = [];
        let refine = 0;
        let scoreThreads = 0;
        let visited: readonly (number | undefined)[] = [];
        const got = runStreaming(model, params, weights, layout, 9, {
          onThresholdPath: (p) => {
            paths = p;
          },
          onRefineThreads: (t) => {
            refine = t;
          },
          onScoreThreads: (t) => {
            scoreThreads = t;
          },
          onPositions: (c) => {
            visited = c;
          },
        });
        const what = `${inter} ${JSON.stringify(layout)}`;
        expect(paths, what).toEqual([path, path, path]);
        expect([refine, scoreThreads], what).toEqual([1, 1]);
        // The merge visits recorded positions (a share of the scores) only for an in-memory store
        // with the threshold found in the window; otherwise it scans every score.
        const total = 300 * 400 + 30000 + 7;
        for (const c of visited) {
          if (path === "window" && layout.memoryBudget > 0) expect(c, what).toBeLessThan(total / 2);
          else expect(c, what).toBeUndefined();
        }
        expect(visited, what).toHaveLength(3);
        for (const t of model) {
          // Byte comparison (a deep equal of 10⁵ elements is slow); NaN payloads and ±0 count.
          const [g, r] = [got.get(t.name) as Float32Array, ref.get(t.name) as Float32Array];
          expect(g.length, `${what} ${t.name}`).toBe(r.length);
          expect(
            Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(
              Buffer.from(r.buffer, r.byteOffset, r.byteLength),
            ),
            `${what} ${t.name}`,
          ).toBe(true);
        }
      }
    }
  });

  it("spilled store with nan_guard on/off on ties-heavy inputs equals reference mode", () => {
    const model = toyModel(11, 3, { a: [40], b: [6, 7] });
    for (const t of model) {
      t.models.forEach((m, i) => {
        for (let k = 0; k < m.length; k++)
          m[k] = i === 1 ? t.base[k] : t.base[k] + Math.round((m[k] - t.base[k]) * 40) / 40;
      });
    }
    for (const guard of ["on", "off"] as const) {
      const params = { ratio: 0.25, lambda: 1, inter: "canonical" as const, nan_guard: guard };
      const ref = runMethod(getMethod("pcb"), model, { params });
      const got = runStreaming(model, params, [1, 1, 1], { memoryBudget: 0, spillDir: spill, chunk: 5 }, 1);
      for (const t of model) expect(got.get(t.name)).toEqual(ref.get(t.name));
    }
  });

  it("file store round-trips rows at offsets and deletes nothing but its own file", () => {
    const store = createTaskStore(2, 10, 0, spill);
    expect(store.kind).toBe("file");
    expect(readdirSync(spill)).toEqual([]);
    store.write(1, 3, Float32Array.from([1, 2, 3]));
    store.write(0, 0, Float32Array.from([9]));
    expect(Array.from(store.read(1, 2, 5, new Float32Array(8)))).toEqual([0, 1, 2, 3, 0]);
    const seen: number[] = [];
    store.forEachChunk((start, rows) => {
      seen.push(start, rows[0].length);
      rows[1].fill(start);
      return true;
    }, 4);
    expect(seen).toEqual([0, 4, 4, 4, 8, 2]);
    expect(Array.from(store.read(1, 0, 10, new Float32Array(10)))).toEqual([0, 0, 0, 0, 4, 4, 4, 4, 8, 8]);
    expect(store.read(0, 0, 1, new Float32Array(1))[0]).toBe(9);
    store.close();
    store.close(); // idempotent
    expect(() => store.read(0, 0, 1, new Float32Array(1))).toThrow(/after close/);
    expect(createTaskStore(2, 10, 80).kind).toBe("memory");
  });

  it("names the directory when the spill file cannot be created", () => {
    expect(() => createTaskStore(1, 4, 0, join(spill, "missing", "dir"))).toThrow(
      /cannot create the spill file in '.*missing/,
    );
  });
});

describe("pcb streaming-global through the checkpoint pipeline", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "x-pcb-store-e2e-"));
    const rng = new Rng(77);
    const base = randomModel(rng);
    await writeModelDir(join(root, "base"), base, { files: { "config.json": "{}" } });
    for (let i = 0; i < 3; i++)
      await writeModelDir(join(root, `ft${i}`), fineTune(rng, base), { maxShardSize: 700 });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("spilled and in-memory stores write the same bytes as reference mode, store passes read no tensors", async () => {
    const files: Record<string, Record<string, Float32Array>> = {};
    const { openCheckpoint } = await import("@x/tensor-core");
    for (const [name, extra] of [
      ["reference", "mode: reference"],
      ["memory", "mode: streaming-global"],
      ["spill", `mode: streaming-global, memory_budget: 0, spill_dir: ${spill}`],
    ] as const) {
      const events: MergeProgressEvent[] = [];
      const out = join(root, `out-${name}`);
      await mergeCheckpoints(
        parseMergeConfig(`
merge_method: pcb
base_model: ${root}/base
models:
  - model: ${root}/ft0
  - model: ${root}/ft1
    parameters: { weight: 1.2 }
  - model: ${root}/ft2
parameters: { ratio: 0.2, inter: vision, ${extra} }
`),
        out,
        { onProgress: (e) => events.push(e) },
      );
      expect(readdirSync(spill)).toEqual([]);
      if (name !== "reference") {
        // Passes 2-4 work on the store: one event each, not one per tensor.
        const labels = events.filter((e) => e.phase === "pass").map((e) => e.label);
        for (const l of ["magnitude quantiles", "balance scores", "drop thresholds"]) {
          expect(labels.filter((x) => x.endsWith(l))).toHaveLength(1);
        }
      }
      const ck = await openCheckpoint(out);
      files[name] = {};
      for (const n of ck.names()) files[name][n] = await ck.fileOf(n).readFloat32(n);
      await ck.close();
    }
    expect(Object.keys(files.memory).length).toBeGreaterThan(5);
    expect(files.memory).toEqual(files.reference);
    expect(files.spill).toEqual(files.reference);
  });

  it("rejects a negative memory budget by name", () => {
    const method = getMethod("pcb");
    expect(() => resolveParams(method, { mode: "streaming-global", memory_budget: -1 }, [{}])).toThrow(
      /memory_budget/,
    );
  });
});
