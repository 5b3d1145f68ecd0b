import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The committed WebAssembly module is what the pinned toolchain builds from the .wat (CI also runs
// `pnpm check:wasm` for every package).
describe("src/codecs/simd-wasm.ts", () => {
  it("matches a rebuild of simd.wat with the pinned wabt (build-wasm.mjs --check)", () => {
    const script = fileURLToPath(new URL("../../scripts/build-wasm.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("simd-wasm.ts matches its source");
    expect(r.status).toBe(0);
  });
});
