// Runs a package README's example as a user would: the first ```ts or ```js block, types stripped
// (TypeScript's transpiler), saved inside the package folder so that `@x/*` imports resolve exactly as
// for an npm user of the built packages (the package's own name through its `exports`, its dependencies
// through its node_modules), then run with plain Node in a child process.
//
//   node tooling/readme-example.mjs packages/tensor-core      # one package; exit code = the example's
//   import { runReadmeExample } from "./readme-example.mjs"    # from a test
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";

/** The first ```ts / ```js block of a README, or undefined. */
export function firstExample(markdown) {
  const m = /^```(ts|typescript|js|javascript)[^\n]*\n([\s\S]*?)^```/m.exec(markdown);
  return m ? { lang: m[1].startsWith("t") ? "ts" : "js", code: m[2] } : undefined;
}

/** The first ```ts / ```js block under the heading `heading` (e.g. "## In the browser"), or undefined. */
export function sectionExample(markdown, heading) {
  const at = markdown.indexOf(`\n${heading}\n`);
  return at < 0 ? undefined : firstExample(markdown.slice(at));
}

/**
 * Runs the example of the package in `dir`. Returns { status, stdout, stderr, code } (status null on a
 * timeout); throws when the README has no ts/js block.
 */
export function runReadmeExample(dir, { timeoutMs = 300_000 } = {}) {
  const pkgDir = resolve(dir);
  const example = firstExample(readFileSync(join(pkgDir, "README.md"), "utf8"));
  if (!example) throw new Error(`${join(pkgDir, "README.md")} has no \`\`\`ts or \`\`\`js example`);
  const code =
    example.lang === "ts"
      ? ts.transpileModule(example.code, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText
      : example.code;
  const file = join(pkgDir, `.readme-example-${process.pid}-${randomBytes(3).toString("hex")}.mjs`);
  // A fresh temporary directory per run, also the working directory (os.tmpdir() follows TMPDIR): examples that
  // write files see neither each other's leftovers nor those of an earlier run, and never write into the package.
  // The script itself stays in the package folder so that its imports resolve as a user's would.
  const temp = mkdtempSync(join(tmpdir(), "x-readme-example-"));
  writeFileSync(file, code);
  try {
    const r = spawnSync(process.execPath, [file], {
      cwd: temp,
      encoding: "utf8",
      timeout: timeoutMs,
      env: { ...process.env, TMPDIR: temp },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, code };
  } finally {
    rmSync(file, { force: true });
    rmSync(temp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let failed = 0;
  for (const dir of process.argv.slice(2)) {
    const r = runReadmeExample(dir);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    console.log(`${dir}: README example ${r.status === 0 ? "ran" : `failed (exit ${r.status})`}`);
    if (r.status !== 0) failed++;
  }
  process.exit(failed ? 1 : 0);
}
