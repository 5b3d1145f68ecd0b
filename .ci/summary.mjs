// Prints "N passed, N failed" from vitest's JSON report; a missing report counts as one failure.
import { existsSync, readFileSync } from "node:fs";

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, "utf8"));
const failedSuites = (r.testResults ?? []).filter(
  (s) => s.status === "failed" && (s.assertionResults ?? []).length === 0,
).length;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// Skipped tests (e.g. comparisons with ../shared reference data when it is absent) get their own line, so the
// last line stays exactly "N passed, N failed".
if (skipped) console.log(`${skipped} skipped`);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed`);
