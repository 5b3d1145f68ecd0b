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
};

export const workspaceAlias = Object.fromEntries(
  Object.entries(pkgs).map(([name, dir]) => [name, `${root}${dir}/src/index.ts`]),
);

export const sharedTest = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
};
