// Runs a fenced ```js block of the package README verbatim (imports resolve to src/) and returns what
// it logged, one string per console.log call.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { vi } from "vitest";

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

/** The README from the heading `heading` on. */
export function readmeSection(heading: string): string {
  return readme.slice(readme.indexOf(heading));
}

/** Runs the first ```js block that `pattern` (with one capture group) finds in the section. */
export async function runReadmeBlock(heading: string, pattern = /```js\n([\s\S]*?)```/): Promise<string[]> {
  const code = readmeSection(heading).match(pattern)?.[1];
  if (!code) throw new Error(`no code block under '${heading}' in README.md`);
  const tmp = fileURLToPath(new URL(`./.readme-${heading.replace(/\W+/g, "-")}.tmp.mjs`, import.meta.url));
  writeFileSync(tmp, code);
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await import(/* @vite-ignore */ tmp);
    return log.mock.calls.map((c) => c.join(" "));
  } finally {
    log.mockRestore();
    rmSync(tmp, { force: true });
  }
}
