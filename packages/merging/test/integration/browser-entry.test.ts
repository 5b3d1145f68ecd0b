// `@x/merging/browser` as a browser runs it: bundled by tooling/browser-bundle.mjs (browser
// resolution, every dependency inlined, no Node built-in) and imported as that one module, which has
// its own registry and no Node-only PCB sessions. Its merges of flat task vectors equal the Node API's
// (`@x/merging`, whose `pcb` runs streaming-global with its Node sessions) bit for bit.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type FlatTensor, mergeFlat } from "@x/merging";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleForBrowser } from "../../../../tooling/browser-bundle.mjs";

type BrowserMerging = typeof import("@x/merging/browser");

const tmp = mkdtempSync(join(tmpdir(), "x-merging-browser-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A small model: three tensors in one flat vector, a base and four fine-tuned models.
const layout: FlatTensor[] = [
  { name: "fc1.bias", shape: [16], offset: 0 },
  { name: "fc1.weight", shape: [16, 24], offset: 16 },
  { name: "fc2.weight", shape: [8, 16], offset: 16 + 384 },
];
const D = 16 + 384 + 128;
const rng = new Rng(7);
const base = rng.fillNormal(new Float32Array(D), 0, 0.5) as Float32Array;
const models = Array.from({ length: 4 }, () => {
  const m = base.slice();
  for (let k = 0; k < D; k++) m[k] += rng.normal() * 0.1;
  return m;
});

const CASES: [string, Record<string, unknown>][] = [
  ["task_arithmetic", { lambda: 0.7 }],
  ["ties", { variant: "pcb", density: 0.2, lambda: 1.3 }],
  ["ties", { density: 0.3, lambda: 0.9 }],
  ["pcb", { ratio: 0.1, lambda: 1.1 }],
  ["pcb", { ratio: 0.2, lambda: 0.5, mode: "reference" }],
];

describe("@x/merging/browser, bundled for the browser", () => {
  let browser: BrowserMerging;
  beforeAll(async () => {
    const bundle = await bundleForBrowser(join(import.meta.dirname, "../../dist/browser.js"));
    expect(bundle.nodeImports).toEqual([]);
    const file = join(tmp, "merging-browser.mjs");
    writeFileSync(file, bundle.code);
    browser = (await import(pathToFileURL(file).href)) as BrowserMerging;
  }, 120_000);

  it("is its own module: every built-in method registered, the Node entry's mergeFlat not reused", () => {
    expect(browser.mergeFlat).not.toBe(mergeFlat);
    for (const m of ["linear", "task_arithmetic", "ties", "pcb", "dare_ties", "regmean"])
      expect(browser.hasMethod(m), m).toBe(true);
  });

  it.each(CASES)("%s %j: the same merged vector as the Node API", (method, params) => {
    const node = mergeFlat(method, { layout, base, models, params });
    const web = browser.mergeFlat(method, { layout, base, models, params });
    expect(web).toEqual(node);
    // Not a trivial case: the merge moved the base.
    expect(web.some((v, k) => v !== base[k])).toBe(true);
  });

  it("reports bad input with the same typed errors", () => {
    expect(() =>
      browser.mergeFlat("pcb", { layout, base, models: [models[0]!.subarray(1)], params: {} }),
    ).toThrow(browser.MergeInputError);
    expect(() => browser.mergeFlat("nope", { layout, base, models, params: {} })).toThrow(
      /unknown merge method 'nope'/,
    );
  });
});
