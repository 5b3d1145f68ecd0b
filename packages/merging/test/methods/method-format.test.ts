import { describe, expect, it } from "vitest";
import {
  describeMethod,
  formatMergeSummary,
  formatMethodDocs,
  getMethod,
  listMethods,
  type MergeCheckpointsResult,
  MergeConfigError,
  parseParamSetting,
} from "../../src/index.js";

describe("formatMethodDocs", () => {
  it("prints each method's head line and an aligned parameter table", () => {
    const text = formatMethodDocs([describeMethod(getMethod("pcb"))]);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^pcb: .* \(base required, 1\+ models\)$/);
    expect(lines[1]).toMatch(/^ {2}name +scope +type +default +range +description$/);
    const ratio = lines.find((l) => l.startsWith("  ratio "));
    expect(ratio).toMatch(/ 0\.1 +\[5e-324, 1\] /);
    // the description column starts at the same place on every row
    const at = lines[1]!.indexOf("description");
    for (const l of lines.slice(2)) expect(l.slice(at - 2, at)).toBe("  ");
  });

  it("separates methods by a blank line and marks methods without parameters and statistics files", () => {
    const docs = listMethods().map(describeMethod);
    const text = formatMethodDocs(docs);
    expect(text.split("\n\n")).toHaveLength(docs.length);
    expect(formatMethodDocs([describeMethod(getMethod("fisher"))])).toContain(
      "needs fisher.safetensors beside each model (x zoo stats)",
    );
    const bare = docs.find((d) => d.params.length === 0);
    if (bare) expect(formatMethodDocs([bare])).toMatch(/\n {2}\(no parameters\)$/);
  });
});

describe("formatMergeSummary", () => {
  const base: MergeCheckpointsResult = {
    outDir: "out",
    method: "ties",
    scope: "tensor",
    tensorsMerged: 12,
    tensorsCopied: 0,
    outputBytes: 1_500_000,
    warnings: [],
    configHash: "h",
    threads: 1,
    seconds: 2.25,
    nonFinite: [],
  };

  it("says what was merged, where, how big and how long", () => {
    expect(formatMergeSummary(base)).toBe(
      "merged 12 tensors with ties (tensor scope) into out: 1.5MB in 2.3s",
    );
  });

  it("adds kept tensors, warnings and the non-finite values merged as they are", () => {
    const r = {
      ...base,
      tensorsCopied: 3,
      warnings: [{ message: "w" }, { message: "v" }] as unknown as MergeCheckpointsResult["warnings"],
      nonFinite: [
        { model: "a", tensor: "x", count: 2 },
        { model: "b", tensor: "y", count: 5 },
      ],
    };
    expect(formatMergeSummary(r)).toBe(
      "merged 12 tensors, kept 3 with ties (tensor scope) into out: 1.5MB in 2.3s, 2 warning(s), 7 non-finite input value(s) merged as they are",
    );
  });
});

describe("parseParamSetting", () => {
  it("reads numbers, booleans and strings", () => {
    expect(parseParamSetting("density=0.2")).toEqual(["density", 0.2]);
    expect(parseParamSetting("rescale=true")).toEqual(["rescale", true]);
    expect(parseParamSetting("mode=reference")).toEqual(["mode", "reference"]);
    expect(parseParamSetting("x= ")).toEqual(["x", " "]);
    expect(parseParamSetting("a=b=c")).toEqual(["a", "b=c"]);
  });

  it("refuses text without a key", () => {
    for (const t of ["=1", "density"]) {
      expect(() => parseParamSetting(t)).toThrow(MergeConfigError);
      expect(() => parseParamSetting(t)).toThrow(`expected key=value, got '${t}'`);
    }
  });
});
