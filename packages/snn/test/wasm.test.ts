import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error the build script is plain JavaScript
import { generate } from "../scripts/build-wasm.mjs";

describe("the committed WebAssembly kernel", () => {
  it("is the compiled form of dense.wat (rebuild with pnpm build:wasm)", async () => {
    const wat = readFileSync(new URL("../src/infer/dense.wat", import.meta.url), "utf8");
    const committed = readFileSync(new URL("../src/infer/dense-wasm.ts", import.meta.url), "utf8");
    expect(await generate(wat)).toBe(committed);
  });
});
