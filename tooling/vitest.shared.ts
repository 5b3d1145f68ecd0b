// Shared vitest settings: tests import sibling workspace packages from source, so a
// package's tests never depend on another package's stale build output.
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkgs: Record<string, string> = {
  "@x/tensor-core": "packages/tensor-core",
  "@x/merging": "packages/merging",
  "@x/evolution": "packages/evolution",
  "@x/snn": "packages/snn",
  "@x/grid-model": "packages/grid-model",
  "@x/datasets": "packages/datasets",
  "@x/zoo": "packages/zoo",
  "@x/experiments": "packages/experiments",
};

// Subpath exports map to their own entry files; exact-match regexes keep "@x/tensor-core" from
// swallowing "@x/tensor-core/tfjs" as a path prefix.
const subpaths: Record<string, string> = {
  "@x/tensor-core/tfjs": "packages/tensor-core/src/tfjs/index.ts",
  "@x/merging/evolve": "packages/merging/src/evolve/index.ts",
  "@x/evolution/distributed": "packages/evolution/src/distributed/index.ts",
};

export const workspaceAlias = [
  ...Object.entries(subpaths).map(([name, file]) => ({ find: exact(name), replacement: `${root}${file}` })),
  ...Object.entries(pkgs).map(([name, dir]) => ({
    find: exact(name),
    replacement: `${root}${dir}/src/index.ts`,
  })),
];

function exact(name: string): RegExp {
  return new RegExp(`^${name.replace(/[/.]/g, "\\$&")}$`);
}

export const sharedTest = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
};
