import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processAlive, removeDeadTemporaries, writeFileAtomic } from "../src/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tc-files-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(r.stdout.toString());
}

describe("processAlive", () => {
  it("is true for this process and false for one that exited", () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(deadPid())).toBe(false);
  });
});

describe("removeDeadTemporaries", () => {
  it("removes the temporaries of dead processes only", () => {
    const dead = `.model.safetensors.${deadPid()}.0123abcd.tmp`;
    const mine = `.model.safetensors.${process.pid}.89abcdef.tmp`;
    const other = "notes.1234.0123abcd.tmp"; // no leading dot: not a temporary
    for (const n of [dead, mine, other, "model.safetensors"]) writeFileSync(join(dir, n), "x");
    expect(removeDeadTemporaries(dir)).toEqual([dead]);
    expect(readdirSync(dir).sort()).toEqual([mine, "model.safetensors", other].sort());
  });

  it("returns nothing for a missing directory", () => {
    expect(removeDeadTemporaries(join(dir, "absent"))).toEqual([]);
  });
});

describe("writeFileAtomic", () => {
  it("replaces the file whole and leaves no temporary", async () => {
    const f = join(dir, "a.json");
    writeFileSync(f, "old");
    await writeFileAtomic(f, "new\n");
    expect(readFileSync(f, "utf8")).toBe("new\n");
    await writeFileAtomic(f, new Uint8Array([1, 2, 3]), { durable: true });
    expect([...readFileSync(f)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(["a.json"]);
  });

  it("fails on a missing directory without leaving anything", async () => {
    const f = join(dir, "no", "a.json");
    await expect(writeFileAtomic(f, "x")).rejects.toThrow(/ENOENT/);
    expect(existsSync(join(dir, "no"))).toBe(false);
  });
});
