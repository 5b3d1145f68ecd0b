import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The page is built into dist/page with relative asset paths, so the same files work when served from
// any folder (`x demo`, or a static copy written by `--out`). Everything, fonts included, is bundled:
// the page makes no request outside the server it came from.
export default defineConfig({
  root: fileURLToPath(new URL("src/page", import.meta.url)),
  base: "./",
  publicDir: false,
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
