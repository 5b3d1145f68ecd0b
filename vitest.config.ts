import { defineConfig } from "vitest/config";

// CI sets X_VITEST_JSON to also write a JSON report (the source of its "N passed, N failed" line).
const jsonReport = process.env.X_VITEST_JSON;

export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    ...(jsonReport ? { reporters: ["default", "json"], outputFile: { json: jsonReport } } : {}),
  },
});
