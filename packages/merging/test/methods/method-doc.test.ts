import { describe, expect, it } from "vitest";
import { describeMethod, getMethod, listMethods } from "../../src/index.js";

describe("describeMethod", () => {
  it("documents every registered method as JSON-ready data", () => {
    const docs = listMethods().map(describeMethod);
    expect(docs.length).toBeGreaterThan(5);
    for (const d of docs) {
      expect(JSON.parse(JSON.stringify(d))).toEqual(d);
      for (const p of d.params) expect(p.default === null || p.default !== undefined).toBe(true);
    }
  });

  it("names the statistics files a method reads and the parameters' ranges", () => {
    const fisher = describeMethod(getMethod("fisher"));
    expect(fisher.auxFiles).toEqual([{ kind: "fisher", file: "fisher.safetensors", required: "every" }]);
    const pcb = describeMethod(getMethod("pcb"));
    expect(pcb.base).toBe("required");
    expect(pcb.auxFiles).toEqual([]);
    const ratio = pcb.params.find((p) => p.name === "ratio");
    expect(ratio).toMatchObject({ type: "number" });
    expect(describeMethod(getMethod("linear")).params.every((p) => p.description.length > 0)).toBe(true);
  });
});
