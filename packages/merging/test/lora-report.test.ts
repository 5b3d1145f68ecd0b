import { describe, expect, it } from "vitest";
import { type ExtractLoraResult, formatLoraExtraction } from "../src/index.js";

describe("formatLoraExtraction", () => {
  it("lists each module with its rank and error or why it is at full rank", () => {
    const r: ExtractLoraResult = {
      out: "adapter",
      rank: 8,
      modules: [
        { name: "layers.0.q", kind: "lora", shape: [4, 4], rank: 4, deltaNorm: 1, relativeError: 0.0123 },
        {
          name: "embed",
          kind: "embedding",
          shape: [10, 4],
          rank: 0,
          deltaNorm: 1,
          relativeError: 0,
          reason: "embedding",
        },
      ],
      targetModules: ["q"],
      modulesToSave: ["embed"],
      ignored: ["x", "y"],
      skipped: ["norm"],
    };
    expect(formatLoraExtraction(r, 1.234).split("\n")).toEqual([
      "wrote adapter: 1 LoRA module (r = 8), 1 at full rank, in 1.23s",
      "  module      kind       shape",
      "  layers.0.q  lora       [4, 4]  rank    4  rel. error 1.230e-2",
      "  embed       embedding  [10, 4]  full rank (embedding)",
      "  skipped: norm",
      "  not in the adapter (no module): 2 tensors",
    ]);
  });
});
