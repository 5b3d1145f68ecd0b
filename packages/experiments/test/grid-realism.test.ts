import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  gridRealismMarkdown,
  runGridRealism,
  weakBranchesSvg,
  writeGridRealism,
} from "../src/grid-realism/index.js";

const dir = mkdtempSync(join(tmpdir(), "grid-realism-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("grid-realism experiment", () => {
  it("runs a reduced plan, one cell per effect, and writes its JSON and markdown", () => {
    const r = runGridRealism({ plan: { ieee13: [480] }, seeds: [1], effects: ["baseline", "zip", "all"] });
    expect(r.cells.map((c) => c.effect)).toEqual(["baseline", "zip", "all"]);
    for (const c of r.cells) {
      expect(c.edgeAccuracy).toBeGreaterThan(0.5);
      expect(c.seconds).toBeGreaterThan(0);
    }
    const md = gridRealismMarkdown(r);
    expect(md).toMatch(/\| baseline \| .*\/1 · /);
    const files = writeGridRealism(r, dir);
    expect(JSON.parse(readFileSync(files[0]!, "utf8")).cells).toHaveLength(3);
    expect(() => runGridRealism({ plan: { ieee13: [96] }, effects: ["nope"] })).toThrow(
      /unknown effect "nope"/,
    );
  });

  it("draws the weak-branch figure as standalone SVG", () => {
    const svg = weakBranchesSvg({
      name: "grid-69-weak",
      machine: { cores: 2, node: "v20", loadAverageAtStart: [0, 0, 0] },
      weakest: 2,
      cells: [
        {
          voltageClass: 0.1,
          samples: 1000,
          edgeAccuracy: 0.9,
          weak: [
            { bus: "46", drop: 1e-6, snr: 0.01, recovered: false },
            { bus: "27", drop: 4e-5, snr: 20, recovered: true },
          ],
        },
      ],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<circle /g)!.length).toBe(2 + 3); // two points, three legend entries
  });
});
