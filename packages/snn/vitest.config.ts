import { packageTestProjects } from "../../tooling/vitest.shared.js";

// Unit, integration and reliability projects, shared by every package (see tooling/vitest.shared.ts).
export default packageTestProjects(import.meta.url);
