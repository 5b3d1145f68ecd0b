// Every library package's README example runs, against the built packages, as a user would run it
// (tooling/readme-example.mjs). A new package is covered as soon as it exists.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runReadmeExample } from "../readme-example.mjs";
import { workspacePackages } from "../workspace.mjs";

const libraries = workspacePackages().filter((p) => p.group === "packages");

describe("README examples", () => {
  it.each(libraries.map((p) => [p.name, p.dir]))(
    "%s: the first ts/js block of README.md runs",
    (_name, dir) => {
      const before = readdirSync(dir).sort();
      const r = runReadmeExample(dir);
      expect(r.stderr.includes("Error") ? r.stderr : "").toBe("");
      expect(r.status).toBe(0);
      // Files an example writes go to its own temporary folder, never into the package.
      expect(readdirSync(dir).sort()).toEqual(before);
    },
  );
});
