import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEvolveTemporary, evolveResumeState } from "../../src/evolve/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "evolve-resume-state-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("evolveResumeState", () => {
  it("tells a checkpoint from a missing, a killed run's or a foreign directory", () => {
    const out = join(dir, "out");
    expect(evolveResumeState(out)).toBe("missing");
    mkdirSync(join(out, "checkpoint"), { recursive: true });
    createEvolveTemporary(out, "candidates");
    expect(evolveResumeState(out)).toBe("leftovers");
    writeFileSync(join(out, "notes.txt"), "mine");
    expect(evolveResumeState(out)).toBe("foreign");
    writeFileSync(join(out, "checkpoint", "latest.json"), "{}");
    expect(evolveResumeState(out)).toBe("checkpoint");
  });
});
