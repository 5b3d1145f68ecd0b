import { defineProject } from "vitest/config";
import { sharedTest, workspaceAlias } from "../../tooling/vitest.shared.js";

export default defineProject({
  resolve: { alias: workspaceAlias },
  test: { name: "experiments", include: ["test/**/*.test.ts"], ...sharedTest },
});
