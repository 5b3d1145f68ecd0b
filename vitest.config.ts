import { defineConfig } from "vitest/config";
import { workspaceTestProjects } from "./tooling/vitest.shared.js";

// CI sets X_VITEST_JSON to also write a JSON report (the source of its "N passed, N failed" line).
const jsonReport = process.env.X_VITEST_JSON;

export default defineConfig({
  test: {
    // Every package's unit, integration and reliability projects (tooling/vitest.shared.ts).
    projects: workspaceTestProjects(),
    // Three test files at a time on 2 cores (vitest's default would be one): most integration tests wait on the
    // processes, servers and browsers they start, and the whole suite runs in about 12 instead of 20 minutes.
    maxWorkers: 3,
    ...(jsonReport ? { reporters: ["default", "json"], outputFile: { json: jsonReport } } : {}),
  },
});
