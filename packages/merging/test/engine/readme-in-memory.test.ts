// Runs the README's "In-memory merges" block verbatim (imports resolve to src/).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";

const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
const tmp = fileURLToPath(new URL("./.readme-in-memory.tmp.mjs", import.meta.url));

describe("README in-memory example", () => {
  afterAll(() => rmSync(tmp, { force: true }));

  it("merges state dicts and flat genomes", async () => {
    const section = readme.slice(readme.indexOf("## In-memory merges"));
    const code = section.match(/```js\n([\s\S]*?)```/)?.[1];
    expect(code).toBeTruthy();
    writeFileSync(tmp, code!);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await import(/* @vite-ignore */ tmp);
      const lines = log.mock.calls.map((c) => c.join(" "));
      // θ₀ + 0.5·(τ_math + τ_code)
      expect(lines[0]).toBe("task arithmetic: 0.45,0.05,0,0.05");
      expect(lines[1]).toMatch(/^pcb: [-\d.,]+$/);
      // (3·math + 1·code) / 4
      expect(lines[2]).toBe("linear: 0.475,-0.075,0.05,0.475,0.25,0.05");
      expect(lines).toHaveLength(3);
    } finally {
      log.mockRestore();
    }
  });
});
