import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  detectMeterFormat,
  loadFeeder,
  parseMeterMap,
  readMeterData,
  readMeterMap,
  SmartMeterCsvError,
  simulateSmartMeters,
  writeMeterReadings,
  writeSmartMeterCsv,
} from "../src/index.js";
import { meterFormatOf } from "../src/io/meter-file.js";

const dir = mkdtempSync(join(tmpdir(), "x-grid-meter-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("meter-data files", () => {
  it("tells the wide CSV from long-format readings by the first lines", () => {
    expect(meterFormatOf("# x-grid-smartmeter v1\n# feeder: ieee13\nt,start_min,650.v_pu\n")).toBe("wide");
    expect(meterFormatOf("\nt,start_min,650.v_pu\n0,0,1.0\n")).toBe("wide");
    expect(meterFormatOf("# units: p=kW q=kvar v=V\nmeter,timestamp,p,q,v\n")).toBe("long");
    expect(meterFormatOf("meter,timestamp,p,q,v\n650,2024-01-01T00:00:00Z,,,2400\n")).toBe("long");
  });

  it("reads a simulation written in either format to the same series", async () => {
    const feeder = await loadFeeder("ieee13");
    const data = simulateSmartMeters(feeder, { samples: 48, seed: 3, meters: "all" });
    const wide = join(dir, "wide.csv");
    const long = join(dir, "long.csv");
    await writeSmartMeterCsv(wide, data);
    await writeMeterReadings(long, data);
    expect(await detectMeterFormat(wide)).toBe("wide");
    expect(await detectMeterFormat(long)).toBe("long");
    const a = await readMeterData(wide);
    const b = await readMeterData(long);
    expect([a.format, b.format]).toEqual(["wide", "long"]);
    expect(b.data.busNames).toEqual(a.data.busNames);
    for (let j = 0; j < a.data.busNames.length; j++)
      for (let t = 0; t < 48; t++) expect(b.data.vm[j]![t]).toBeCloseTo(a.data.vm[j]![t]!, 9);
    // Forcing the wrong format is the reader's error, naming the file.
    await expect(readMeterData(long, { format: "wide" })).rejects.toThrow(SmartMeterCsvError);
  });

  it("reads meter maps and names the line of a bad one", async () => {
    expect(parseMeterMap("meter,bus\n# a comment\nM-1, 650\nM-2,632\n")).toEqual({
      "M-1": "650",
      "M-2": "632",
    });
    expect(() => parseMeterMap("M-1,650\nM-1,632\n", "map.csv")).toThrow(
      /map\.csv:2: meter "M-1" is mapped twice/,
    );
    expect(() => parseMeterMap("M-1\n", "map.csv")).toThrow(/map\.csv:1: expected "meter,bus", got "M-1"/);
    const f = join(dir, "map.csv");
    writeFileSync(f, "M-9,675\n");
    expect(await readMeterMap(f)).toEqual({ "M-9": "675" });
    await expect(readMeterMap(join(dir, "absent.csv"))).rejects.toThrow(
      /absent\.csv: cannot read \(ENOENT\)/,
    );
  });
});
