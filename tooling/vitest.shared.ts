// The test projects every workspace package shares, defined once here and applied by each package's
// vitest.config.ts (`export default packageTestProjects(import.meta.url)`):
//
//   <pkg>:unit         test/**/*.test.ts minus the two folders below; fast; imports sources
//   <pkg>:integration  test/integration/**/*.test.ts; real data, subprocesses, built binaries, workers
//   <pkg>:reliability  test/reliability/**/*.test.ts; fault injection, fuzzing, kills
//
// Which build a test runs: unit tests resolve `@x/*` to the packages' TypeScript sources, so they never see a
// stale build and need none. Integration and reliability tests resolve `@x/*` to the built `dist/` entries
// named by each package's `exports` map, exactly what an npm user imports; code under test and the worker
// scripts it starts (`dist/**/*-worker.js`) then come from the same build. They import packages by name,
// never `../src/...` (that would load a second copy of the package from sources).
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { root, workspacePackages } from "./workspace.mjs";

export type TestKind = "unit" | "integration" | "reliability";
export type Build = "src" | "dist";

/** `./dist/a/index.js` → `src/a/index.ts` (tsconfig: rootDir src, outDir dist). */
function sourceOf(pkgDir: string, built: string): string {
  const rel = built.replace(/^\.\//, "");
  if (!rel.startsWith("dist/") || !rel.endsWith(".js")) {
    throw new Error(`${pkgDir}/package.json: export target ${built} is not a dist/*.js file`);
  }
  const src = join(pkgDir, `src/${rel.slice("dist/".length, -".js".length)}.ts`);
  if (!existsSync(src)) throw new Error(`${relative(root, src)} (the source of ${built}) does not exist`);
  return src;
}

/**
 * Aliases for every `@x/*` entry point (each subpath of each package's `exports` map): to the TypeScript
 * sources (`"src"`) or to the built files an npm user gets (`"dist"`). Exact-match regexes keep
 * `@x/tensor-core` from swallowing `@x/tensor-core/tfjs` as a path prefix.
 */
export function aliasFor(build: Build): { find: RegExp; replacement: string }[] {
  const out: { find: RegExp; replacement: string }[] = [];
  for (const pkg of workspacePackages()) {
    for (const [sub, target] of Object.entries(pkg.exports)) {
      const name = sub === "." ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, "")}`;
      const replacement = build === "src" ? sourceOf(pkg.dir, target) : join(pkg.dir, target);
      out.push({ find: exact(name), replacement });
    }
  }
  // Longest names first, so a subpath is matched before its package.
  return out.sort((a, b) => b.find.source.length - a.find.source.length);
}

function exact(name: string): RegExp {
  return new RegExp(`^${name.replace(/[/.]/g, "\\$&")}$`);
}

/** Per-kind settings: where the tests are, which build they import, and their timeouts. */
export const TEST_KINDS: Record<
  TestKind,
  { include: string[]; exclude: string[]; build: Build; timeout: number }
> = {
  unit: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/integration/**", "test/reliability/**"],
    build: "src",
    timeout: 60_000,
  },
  integration: { include: ["test/integration/**/*.test.ts"], exclude: [], build: "dist", timeout: 300_000 },
  reliability: { include: ["test/reliability/**/*.test.ts"], exclude: [], build: "dist", timeout: 600_000 },
};

/**
 * The source aliases and unit timeouts alone, for a config written before the shared projects existed
 * (`resolve: { alias: workspaceAlias }, test: { ...sharedTest }`); replace such a config by the one-liner.
 */
export const workspaceAlias = aliasFor("src");
export const sharedTest = { testTimeout: 60_000, hookTimeout: 120_000 };

/**
 * The unit, integration and reliability projects of the package in `dir` (a project whose folder holds no
 * test is left out, so `vitest run` never fails on an empty project).
 */
export function testProjects(dir: string) {
  const pkg = workspacePackages().find((p) => p.dir === dir);
  const short = (pkg?.name ?? dir).replace(/^@x\//, "");
  return (Object.keys(TEST_KINDS) as TestKind[])
    .filter((kind) => kind === "unit" || existsSync(join(dir, "test", kind)))
    .map((kind) => {
      const k = TEST_KINDS[kind];
      return {
        root: dir,
        resolve: { alias: aliasFor(k.build) },
        test: {
          name: `${short}:${kind}`,
          include: k.include,
          exclude: ["**/node_modules/**", ...k.exclude],
          testTimeout: k.timeout,
          hookTimeout: Math.max(k.timeout, 120_000),
          passWithNoTests: true,
        },
      };
    });
}

/**
 * The projects of every workspace package, plus `tooling:integration` (tooling/test: checks across all
 * packages, such as every README example): the root vitest.config.ts.
 */
export function workspaceTestProjects() {
  const tooling = {
    root: join(root, "tooling"),
    test: {
      name: "tooling:integration",
      include: ["test/**/*.test.ts"],
      testTimeout: TEST_KINDS.integration.timeout,
      hookTimeout: TEST_KINDS.integration.timeout,
    },
  };
  return [...workspacePackages().flatMap((p) => testProjects(p.dir)), tooling];
}

/**
 * A package's own vitest.config.ts (`export default packageTestProjects(import.meta.url)`): the same projects
 * as the root config gives that package, for `vitest` run inside the package folder. Vitest does not nest
 * projects, so the root config asks `workspaceTestProjects()` rather than reading these files: keep
 * package-specific settings out of them and in `TEST_KINDS` here.
 */
export function packageTestProjects(configUrl: string) {
  return defineConfig({ test: { projects: testProjects(dirname(fileURLToPath(configUrl))) } });
}
