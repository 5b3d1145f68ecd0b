// Runs the README's "API example on flat vectors" block verbatim (imports resolve to src/).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";

const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
const tmp = fileURLToPath(new URL("./.readme-example.tmp.mjs", import.meta.url));

describe("README API example", () => {
  afterAll(() => rmSync(tmp, { force: true }));

  it("runs and prints the worked PCB result", async () => {
    const section = readme.slice(readme.indexOf("## API example on flat vectors"));
    const code = section.match(/```js\n([\s\S]*?)```/)?.[1];
    expect(code).toBeTruthy();
    writeFileSync(tmp, code!);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await import(/* @vite-ignore */ tmp);
      const lines = log.mock.calls.map((c) => c.join(" "));
      expect(lines[0]).toBe("pcb τ_m: 0.454994,0,0,0.7,-0.65,0,0.2,0,-0.35,0.6");
      expect(lines[1]).toMatch(/^ties \(mergekit\): /);
      expect(lines).toHaveLength(3);
    } finally {
      log.mockRestore();
    }
  });
});
