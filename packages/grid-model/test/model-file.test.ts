import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type GridModel,
  GridModelFileError,
  readGridModelBranches,
  writeGridModelFile,
} from "../src/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "grid-model-file-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = {
  format: "x-grid-model/1",
  root: "b0",
  buses: ["b0", "b1", "b2"],
  hiddenBuses: [],
  branches: [
    { from: "b0", to: "b1", rPu: 0.01, xPu: 0.02 },
    { from: "b1", to: "b2", rPu: null, xPu: null },
  ],
} as unknown as GridModel;

describe("model file", () => {
  it("writes the model with its provenance and reads its branches back, null impedances as NaN", async () => {
    const f = join(dir, "model.json");
    await writeGridModelFile(f, MODEL, { feeder: "ieee13", source: "sm.csv" });
    const doc = JSON.parse(readFileSync(f, "utf8"));
    expect(doc).toMatchObject({ format: "x-grid-model/1", feeder: "ieee13", source: "sm.csv", root: "b0" });
    expect(readFileSync(f, "utf8")).toMatch(/^\{\n {2}"format"/);
    expect(readdirSync(dir)).toEqual(["model.json"]);
    const branches = await readGridModelBranches(f);
    expect(branches[0]).toEqual({ from: "b0", to: "b1", rPu: 0.01, xPu: 0.02 });
    expect(branches[1]!.rPu).toBeNaN();
    expect(branches[1]!.xPu).toBeNaN();
  });

  it("refuses a file that is not JSON or not x-grid-model/1, naming it", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    await expect(readGridModelBranches(bad)).rejects.toThrow(GridModelFileError);
    await expect(readGridModelBranches(bad)).rejects.toThrow(`${bad}: not a readable model JSON`);
    const other = join(dir, "other.json");
    writeFileSync(other, JSON.stringify({ format: "something-else", branches: [] }));
    await expect(readGridModelBranches(other)).rejects.toThrow(
      `${other}: not an x-grid-model/1 document (format: something-else)`,
    );
    await expect(readGridModelBranches(join(dir, "absent.json"))).rejects.toThrow(
      /not a readable model JSON/,
    );
  });
});
