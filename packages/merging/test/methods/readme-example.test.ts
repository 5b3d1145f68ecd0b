// Runs the README's "API example on flat vectors" block verbatim (imports resolve to src/).
import { describe, expect, it } from "vitest";
import { runReadmeBlock } from "../readme.js";

describe("README API example", () => {
  it("runs and prints the worked PCB result", async () => {
    const lines = await runReadmeBlock("## API example on flat vectors");
    expect(lines[0]).toBe("pcb τ_m: 0.454994,0,0,0.7,-0.65,0,0.2,0,-0.35,0.6");
    expect(lines[1]).toMatch(/^ties \(mergekit\): /);
    expect(lines).toHaveLength(3);
  });
});
