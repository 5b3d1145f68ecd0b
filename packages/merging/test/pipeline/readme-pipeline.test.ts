// Runs the README's checkpoint API example verbatim and merges its YAML example on real directories.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, describe, expect, it } from "vitest";
import { mergeCheckpoints, parseMergeConfig } from "../../src/index.js";
import { readmeSection, runReadmeBlock } from "../readme.js";
import { fineTune, randomModel, writeModelDir } from "./fixtures.js";

const section = readmeSection("## Checkpoint merges");
const root = mkdtempSync(join(tmpdir(), "x-readme-"));

describe("README checkpoint examples", () => {
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("the API example runs: merge from YAML, then a PCB λ search", async () => {
    {
      const block = /### Checkpoint API example[\s\S]*?```js\n([\s\S]*?)```/;
      const lines = await runReadmeBlock("## Checkpoint merges", block);
      // PCB streaming-global's fast path (stored inputs read once, then its statistics), then the merge.
      expect(lines.filter((l) => l.startsWith("pcb streaming-global:"))).toEqual([
        "pcb streaming-global: read stored inputs: 3 tensors",
        "pcb streaming-global: statistics: 3 tensors",
      ]);
      expect(lines).toContain("merge: 3 tensors");
      expect(lines.some((l) => l.startsWith("merged 3 tensors, 1568 bytes, 0 warnings"))).toBe(true);
      expect(lines.at(-1)).toMatch(/^λ = [\d.]+, [\d.]+; validation -?[\d.]+ \(start -?[\d.]+\)$/);
    }
  });

  it("the YAML example parses and merges real directories", async () => {
    const yaml = section.match(/```yaml\n([\s\S]*?)```/)?.[1];
    const config = parseMergeConfig(yaml!, "merge.yml");
    expect(config.mergeMethod).toBe("ties");
    const rng = new Rng(4);
    const base = randomModel(rng);
    await writeModelDir(join(root, "models", "base"), base);
    await writeModelDir(join(root, "models", "math"), fineTune(rng, base));
    await writeModelDir(join(root, "models", "code"), fineTune(rng, base));
    const res = await mergeCheckpoints(config, join(root, "merged"), { baseDir: root });
    expect(res.tensorsMerged).toBe(Object.keys(base).length);
    expect(res.warnings).toEqual([]);
  });
});
