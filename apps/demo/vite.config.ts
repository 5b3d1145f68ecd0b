import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split("/")[0]!]));

/**
 * The page runs the packages' browser entry points (`@x/merging/browser`, `@x/zoo/browser`, ...): a
 * Node built-in reaching the page's import graph fails the build, naming the module that imports it
 * (Vite would otherwise replace it by an empty stub and the page would fail at run time).
 */
function noNodeBuiltins(): Plugin {
  return {
    name: "x:no-node-builtins",
    enforce: "pre",
    resolveId(id, importer) {
      if (id.startsWith("node:") || BUILTINS.has(id) || BUILTINS.has(id.split("/")[0]!))
        this.error(`the page imports the Node built-in '${id}' (from ${importer ?? "the entry"})`);
      return null;
    },
  };
}

// The page is built into dist/page with relative asset paths, so the same files work when served from
// any folder (`x demo`, or a static copy written by `--out`). Everything, fonts included, is bundled:
// the page makes no request outside the server it came from.
export default defineConfig({
  root: fileURLToPath(new URL("src/page", import.meta.url)),
  base: "./",
  publicDir: false,
  plugins: [noNodeBuiltins()],
  // The live panel's worker (live-worker.ts) is bundled on its own, with the same guard.
  worker: { format: "es", plugins: () => [noNodeBuiltins()] },
  resolve: {
    alias: {
      // @x/evolution's schedule formulas, taken from source: they import nothing at run time but their
      // error class, while the package entry also pulls Node-only modules (checkpoints, worker threads).
      "@x/evolution/schedules": fileURLToPath(
        new URL("../../packages/evolution/src/schedules.ts", import.meta.url),
      ),
    },
  },
  build: {
    outDir: fileURLToPath(new URL("dist/page", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
