// Bundles one entry file for the browser with Vite (Rolldown, browser resolve conditions, every
// dependency inlined) and records each import of a Node built-in (`node:fs`, `fs`, `worker_threads`,
// ...) reachable from it, with the module that imports it. A browser entry point (`@x/<pkg>/browser`)
// must have none: `tooling/test/browser-entries.test.ts` bundles every one.
import { builtinModules } from "node:module";
import { relative } from "node:path";
import { build } from "vite";
import { root } from "./workspace.mjs";

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split("/")[0]]));

/** True for `node:x` and bare built-in names (`fs`, `fs/promises`, `worker_threads`). */
export function isNodeBuiltin(id) {
  return id.startsWith("node:") || BUILTINS.has(id) || BUILTINS.has(id.split("/")[0]);
}

/**
 * Bundles `entry` (an absolute path) for the browser, in memory. Resolves to `{ nodeImports, code,
 * bytes, modules }`: the Node built-ins imported (`{ id, importer }`, importer relative to the
 * repository), the bundled JavaScript (one ES module; tests import it to run what a browser runs), its
 * size and how many modules went into it.
 */
export async function bundleForBrowser(entry) {
  const nodeImports = [];
  const result = await build({
    configFile: false,
    logLevel: "silent",
    root,
    plugins: [
      {
        name: "x:record-node-builtins",
        enforce: "pre",
        resolveId(id, importer) {
          if (!isNodeBuiltin(id)) return null;
          nodeImports.push({ id, importer: importer ? relative(root, importer) : "(entry)" });
          return { id, external: true };
        },
      },
    ],
    build: {
      write: false,
      minify: false,
      target: "es2022",
      lib: { entry, formats: ["es"], fileName: "bundle" },
      rolldownOptions: { external: [] },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const chunks = outputs.filter((o) => o.type === "chunk");
  if (chunks.length !== 1)
    throw new Error(`${entry}: the browser bundle has ${chunks.length} chunks, expected 1`);
  const code = chunks[0].code;
  return {
    nodeImports,
    code,
    bytes: Buffer.byteLength(code),
    modules: Object.keys(chunks[0].modules).length,
  };
}
