// Every library package's README example runs, against the built packages, as a user would run it
// (tooling/readme-example.mjs). A new package is covered as soon as it exists.
import { describe, expect, it } from "vitest";
import { runReadmeExample } from "../readme-example.mjs";
import { workspacePackages } from "../workspace.mjs";

const libraries = workspacePackages().filter((p) => p.group === "packages");

describe("README examples", () => {
  it.each(libraries.map((p) => [p.name, p.dir]))(
    "%s: the first ts/js block of README.md runs",
    (_name, dir) => {
      const r = runReadmeExample(dir);
      expect(r.stderr.includes("Error") ? r.stderr : "").toBe("");
      expect(r.status).toBe(0);
    },
  );
});
