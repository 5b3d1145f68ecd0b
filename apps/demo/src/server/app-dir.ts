import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DemoServerError } from "./errors.js";

/**
 * The built page: `dist/page` of this package. This file sits two levels below the package root both
 * as source (src/server) and as build output (dist/server), so one relative path serves both.
 */
export function defaultAppDir(): string {
  return fileURLToPath(new URL("../../dist/page/", import.meta.url));
}

export function checkAppDir(appDir: string): void {
  if (!existsSync(join(appDir, "index.html")))
    throw new DemoServerError(
      `the demo page is not built: ${join(appDir, "index.html")} is missing (run \`pnpm build\` in the repository)`,
    );
}
