import { defineConfig } from "vitest/config";
import { workspaceTestProjects } from "./tooling/vitest.shared.js";

// CI sets X_VITEST_JSON to also write a JSON report (the source of its "N passed, N failed" line).
const jsonReport = process.env.X_VITEST_JSON;

export default defineConfig({
  test: {
    // Every package's unit, integration and reliability projects (tooling/vitest.shared.ts).
    projects: workspaceTestProjects(),
    ...(jsonReport ? { reporters: ["default", "json"], outputFile: { json: jsonReport } } : {}),
  },
});
