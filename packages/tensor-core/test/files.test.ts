import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  outputOverlap,
  pathWithin,
  processAlive,
  realPathOf,
  removeDeadTemporaries,
  writeFileAtomic,
  writeFileAtomicSync,
  writeLinesAtomic,
} from "../src/index.js";

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

describe("writeFileAtomicSync", () => {
  it("replaces the file whole, leaves no temporary, and fails on a missing directory without a trace", () => {
    const f = join(dir, "r.md");
    writeFileSync(f, "old");
    writeFileAtomicSync(f, "new\n");
    expect(readFileSync(f, "utf8")).toBe("new\n");
    expect(readdirSync(dir)).toEqual(["r.md"]);
    expect(() => writeFileAtomicSync(join(dir, "no", "r.md"), "x")).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(["r.md"]);
  });
});

describe("writeLinesAtomic", () => {
  it("streams the lines into place, each with a newline, and leaves no temporary", async () => {
    const f = join(dir, "l.csv");
    writeFileSync(f, "old");
    function* lines() {
      for (let i = 0; i < 50_000; i++) yield `${i},${i * i}`;
    }
    await writeLinesAtomic(f, lines());
    const text = readFileSync(f, "utf8");
    expect(text.startsWith("0,0\n1,1\n")).toBe(true);
    expect(text.endsWith("49999,2499900001\n")).toBe(true);
    expect(text.split("\n")).toHaveLength(50_001);
    expect(readdirSync(dir)).toEqual(["l.csv"]);
  });

  it("keeps the old file and leaves no temporary when the lines fail, before the first or midway", async () => {
    const f = join(dir, "l.csv");
    writeFileSync(f, "old");
    function* failing(after: number) {
      for (let i = 0; i < after; i++) yield `line ${i}`;
      throw new Error(`bad input after ${after} lines`);
    }
    for (const after of [0, 3, 20_000]) {
      await expect(writeLinesAtomic(f, failing(after))).rejects.toThrow(`bad input after ${after} lines`);
      expect(readFileSync(f, "utf8")).toBe("old");
      expect(readdirSync(dir)).toEqual(["l.csv"]);
    }
  });
});

describe("realPathOf, pathWithin, outputOverlap", () => {
  it("resolves symlinks of the nearest existing ancestor and keeps the rest", () => {
    const real = realpathSync(dir);
    mkdirSync(join(dir, "in"));
    symlinkSync(join(dir, "in"), join(dir, "link"));
    expect(realPathOf(join(dir, "link", "a", "b"))).toBe(join(real, "in", "a", "b"));
    expect(realPathOf(join(dir, "link"))).toBe(join(real, "in"));
  });

  it("pathWithin: the same path or below, not a sibling with a common prefix", () => {
    expect(pathWithin("/a/b", "/a/b")).toBe(true);
    expect(pathWithin("/a/b/c", "/a/b")).toBe(true);
    expect(pathWithin("/a/bc", "/a/b")).toBe(false);
    expect(pathWithin("/a", "/a/b")).toBe(false);
  });

  it("outputOverlap names how an output meets an input, through symlinks too", () => {
    mkdirSync(join(dir, "in"));
    symlinkSync(join(dir, "in"), join(dir, "link"));
    expect(outputOverlap(join(dir, "link"), join(dir, "in"))).toBe("is");
    expect(outputOverlap(join(dir, "link", "new"), join(dir, "in"))).toBe("lies inside");
    expect(outputOverlap(dir, join(dir, "link"))).toBe("contains");
    expect(outputOverlap(join(dir, "out"), join(dir, "in"))).toBeNull();
  });
});
