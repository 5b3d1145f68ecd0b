// Fails when an import circle appears in the CLI or in the packages it was split into. Static, dynamic and
// type-only imports all count, resolved by TypeScript's own module resolution (NodeNext: "./store.js" is
// store.ts). dpdm and madge were tried first: neither maps these ".js" specifiers to ".ts" sources, so both
// reported no circle even on the old apps/cli that had three.
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import ts from "typescript";

const ROOTS = ["apps/cli", "packages/zoo", "packages/experiments", "packages/merging"];
/** Circles are reported everywhere, but fail the check only when they touch these folders. */
const CHECKED = ["apps/cli/", "packages/zoo/", "packages/experiments/", "packages/merging/src/evolve/"];
const root = process.argv[2] ? resolve(process.argv[2]) : process.cwd();

function sources(pkg) {
  const cfgPath = resolve(root, pkg, "tsconfig.json");
  const cfg = ts.parseJsonConfigFileContent(
    ts.readConfigFile(cfgPath, ts.sys.readFile).config,
    ts.sys,
    dirname(cfgPath),
  );
  return { files: cfg.fileNames, options: cfg.options };
}

const graph = new Map();
for (const pkg of ROOTS) {
  const { files, options } = sources(pkg);
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const deps = [];
    for (const ref of info.importedFiles) {
      const r = ts.resolveModuleName(ref.fileName, file, options, ts.sys).resolvedModule;
      if (r && !r.isExternalLibraryImport && !r.resolvedFileName.endsWith(".d.ts"))
        deps.push(resolve(r.resolvedFileName));
    }
    graph.set(resolve(file), deps);
  }
}

// Tarjan's strongly connected components: every component with more than one module (or a self-import) is a circle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const on = new Set();
const circles = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(comp);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) visit(v);
const checked = circles.filter((c) => c.some((f) => CHECKED.some((d) => relative(root, f).startsWith(d))));
for (const c of circles)
  console.error(
    `${checked.includes(c) ? "circle" : "note: circle outside the checked folders"}: ${c.map((f) => relative(root, f)).join(" <-> ")}`,
  );
console.log(`${graph.size} modules: ${checked.length} import circle(s) in ${CHECKED.join(", ")}`);
process.exit(checked.length ? 1 : 0);
