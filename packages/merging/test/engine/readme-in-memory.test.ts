// Runs the README's "In-memory merges" block verbatim (imports resolve to src/).
import { describe, expect, it } from "vitest";
import { runReadmeBlock } from "../readme.js";

describe("README in-memory example", () => {
  it("merges state dicts and flat genomes", async () => {
    const lines = await runReadmeBlock("## In-memory merges");
    // θ₀ + 0.5·(τ_math + τ_code)
    expect(lines[0]).toBe("task arithmetic: 0.45,0.05,0,0.05");
    expect(lines[1]).toMatch(/^pcb: [-\d.,]+$/);
    // (3·math + 1·code) / 4
    expect(lines[2]).toBe("linear: 0.475,-0.075,0.05,0.475,0.25,0.05");
    expect(lines).toHaveLength(3);
  });
});
