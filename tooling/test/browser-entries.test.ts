// Every `@x/<pkg>/browser` entry point bundles for the browser without a single Node built-in on its
// import graph (tooling/browser-bundle.mjs: a Vite build with browser resolution that records each
// `node:*` / built-in import and who imports it). A new package's browser entry is covered as soon as
// its `exports` map names `./browser`. Needs the build (`pnpm build`).
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { bundleForBrowser, isNodeBuiltin } from "../browser-bundle.mjs";
import { sectionExample } from "../readme-example.mjs";
import { workspacePackages } from "../workspace.mjs";

const withBrowser = workspacePackages().filter((p) => p.exports["./browser"]);
const entries = withBrowser.map((p) => [`${p.name}/browser`, join(p.dir, p.exports["./browser"]!)] as const);

describe("browser entry points", () => {
  it("exist for the packages the demo's live panel runs", () => {
    expect(entries.map(([name]) => name)).toEqual(
      expect.arrayContaining(["@x/merging/browser", "@x/tensor-core/browser", "@x/zoo/browser"]),
    );
  });

  it.each(entries)("%s bundles for the browser with no Node built-in", async (_name, file) => {
    const r = await bundleForBrowser(file);
    expect(r.nodeImports).toEqual([]);
    expect(r.modules).toBeGreaterThan(1);
  });

  it("the check sees Node built-ins: the Node entry of @x/tensor-core has them", async () => {
    const core = workspacePackages().find((p) => p.name === "@x/tensor-core")!;
    const r = await bundleForBrowser(join(core.dir, core.exports["."]!));
    const ids = new Set(r.nodeImports.map((i) => i.id));
    expect(ids).toContain("node:fs/promises");
    expect(ids).toContain("node:worker_threads");
    expect(r.nodeImports.find((i) => i.id === "node:worker_threads")?.importer).toMatch(
      /^packages\/tensor-core\/dist\//,
    );
    expect([isNodeBuiltin("fs"), isNodeBuiltin("node:os"), isNodeBuiltin("fs/promises")]).toEqual([
      true,
      true,
      true,
    ]);
    expect(isNodeBuiltin("ml-matrix")).toBe(false);
  });

  it.each(withBrowser.map((p) => [p.name, p.dir] as const))(
    '%s: the README\'s "In the browser" example imports only browser entries, bundles for the browser and runs',
    async (name, dir) => {
      const example = sectionExample(readFileSync(join(dir, "README.md"), "utf8"), "## In the browser");
      expect(example, `${name}: README.md has no js example under "## In the browser"`).toBeDefined();
      const specifiers = [...example!.code.matchAll(/from "(@x\/[^"]+)"/g)].map((m) => m[1]);
      expect(specifiers).toContain(`${name}/browser`);
      for (const sp of specifiers) expect(sp).toMatch(/\/browser$/);
      // Saved inside the package, so that its own name resolves through its exports map (to the build).
      const file = join(dir, `.browser-example-${process.pid}-${randomBytes(3).toString("hex")}.mjs`);
      const bundled = `${file}.bundle.mjs`;
      writeFileSync(file, example!.code);
      const log = vi.spyOn(console, "log").mockImplementation(() => {});
      try {
        const r = await bundleForBrowser(file);
        expect(r.nodeImports).toEqual([]);
        writeFileSync(bundled, r.code);
        await import(pathToFileURL(bundled).href);
        expect(log.mock.calls.length).toBeGreaterThan(0);
      } finally {
        log.mockRestore();
        rmSync(file, { force: true });
        rmSync(bundled, { force: true });
      }
    },
  );
});
