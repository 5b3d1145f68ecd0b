// The workspace packages (packages/* and apps/*) as the tooling scripts and the vitest config see them.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** `exports` subpath → built JavaScript file (the "import" condition), relative to the package. */
export function importTargets(exportsField) {
  if (typeof exportsField === "string") return { ".": exportsField };
  const out = {};
  if (exportsField && typeof exportsField === "object") {
    for (const [sub, target] of Object.entries(exportsField)) {
      if (typeof target === "string") out[sub] = target;
      else if (target && typeof target === "object") {
        const file = target.import ?? target.default;
        if (typeof file === "string") out[sub] = file;
      }
    }
  }
  return out;
}

/**
 * Every package: { name, dir, group ("packages" | "apps"), private, exports (subpath → dist file),
 * specifiers (the import names of its entry points), json (package.json) }.
 */
export function workspacePackages() {
  const out = [];
  for (const group of ["packages", "apps"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const file = join(base, entry.name, "package.json");
      if (!entry.isDirectory() || !existsSync(file)) continue;
      const json = JSON.parse(readFileSync(file, "utf8"));
      const exports = importTargets(json.exports);
      out.push({
        name: json.name,
        dir: join(base, entry.name),
        group,
        private: json.private === true,
        exports,
        specifiers: Object.keys(exports).map((sub) =>
          sub === "." ? json.name : `${json.name}/${sub.slice(2)}`,
        ),
        json,
      });
    }
  }
  return out;
}

/** The packages published to npm (not `"private": true`). */
export function publishablePackages() {
  return workspacePackages().filter((p) => !p.private);
}
