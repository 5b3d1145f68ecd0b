// Worker scripts run from the built package: next to the calling module when it runs from dist/, or in
// dist/ when it runs from src/ (tests through the source alias).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The first of `candidates` (relative to `from`, an import.meta.url) that exists, else undefined. */
export function findBuiltScript(from: string, candidates: readonly string[]): URL | undefined {
  for (const rel of candidates) {
    const url = new URL(rel, from);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}
