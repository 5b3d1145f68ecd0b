import { defineProject } from "vitest/config";
import { sharedTest, workspaceAlias } from "../../tooling/vitest.shared.js";

export default defineProject({
  resolve: { alias: workspaceAlias },
  test: { name: "snn", include: ["test/**/*.test.ts"], ...sharedTest },
});
