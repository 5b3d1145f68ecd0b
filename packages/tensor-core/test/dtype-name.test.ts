import { describe, expect, it } from "vitest";
import { DTYPES, dtypeFromName } from "../src/index.js";

describe("dtypeFromName", () => {
  it("reads every safetensors name, in any case", () => {
    for (const d of DTYPES) {
      expect(dtypeFromName(d)).toBe(d);
      expect(dtypeFromName(d.toLowerCase())).toBe(d);
    }
  });

  it("reads the torch and numpy float names, with or without torch.", () => {
    const cases: [string, string][] = [
      ["bfloat16", "BF16"],
      ["torch.bfloat16", "BF16"],
      ["BFloat16", "BF16"],
      ["float16", "F16"],
      ["torch.float16", "F16"],
      ["half", "F16"],
      ["fp16", "F16"],
      ["float32", "F32"],
      ["float", "F32"],
      ["fp32", "F32"],
      ["float64", "F64"],
      ["double", "F64"],
      ["fp64", "F64"],
    ];
    for (const [name, d] of cases) expect(dtypeFromName(name), name).toBe(d);
  });

  it("is undefined for anything else", () => {
    for (const name of ["", "float8", "torch.", "int", "F17", "bf16 ", "TORCH.float16"])
      expect(dtypeFromName(name), name).toBeUndefined();
  });
});
