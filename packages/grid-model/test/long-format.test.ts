import { describe, expect, it } from "vitest";
import { parseMeterReadings, SmartMeterCsvError } from "../src/index.js";

const TEXT = [
  "# units: p=kW q=kvar v=V",
  "# base_kv_ll: 4.16",
  "# base_mva: 1",
  "# root: 650",
  "meter,timestamp,p,q,v",
  // 5-min readings of the load, resampled onto the 15-min grid (mean of three); the substation reports V only.
  "650,2024-03-04T00:00:00Z,,,4160",
  "675,2024-03-04T00:00:00Z,90,10,4100",
  "675,2024-03-04T00:05:00Z,100,20,4090",
  "675,2024-03-04T00:10:00Z,110,30,4080",
  "650,2024-03-04T00:15:00Z,,,4170",
  "675,2024-03-04T00:15:00Z,200,40,4000",
  // 00:30 missing for 675: a gap, not an error.
  "650,2024-03-04T00:30:00Z,,,4160",
].join("\n");

describe("long-format meter readings", () => {
  it("converts units, aligns on the grid and averages finer readings", () => {
    const d = parseMeterReadings(TEXT, {}, "readings.csv");
    expect(d.busNames).toEqual(["650", "675"]);
    expect(d.root).toBe(0);
    expect(d.samples).toBe(3);
    expect(Array.from(d.startMinute)).toEqual([0, 15, 30]);
    expect(d.vm[0]![1]).toBeCloseTo(4170 / 4160, 14);
    expect(d.p[1]![0]).toBeCloseTo(0.1, 14); // mean of 90, 100, 110 kW on 1 MVA
    expect(d.q[1]![0]).toBeCloseTo(0.02, 14);
    expect(d.vm[1]![0]).toBeCloseTo(4090 / 4160, 14);
    expect(Number.isNaN(d.p[1]![2]!)).toBe(true);
    expect(d.meta.origin).toBe("2024-03-04T00:00:00.000Z");
  });

  it("takes units, bases and the root from options, and end-of-interval labels", () => {
    const text = [
      "meter,timestamp,p,q,v",
      "a,2024-01-01T00:15:00+01:00,0.1,0.05,1.0",
      "b,2024-01-01T00:15:00+01:00,0.1,0.05,0.99",
    ].join("\n");
    const d = parseMeterReadings(text, {
      units: { p: "MW", q: "Mvar", v: "pu" },
      baseKvLl: 12.66,
      baseMva: 10,
      root: "a",
      label: "end",
    });
    expect(d.p[1]![0]).toBeCloseTo(0.01, 15); // 0.1 MW on 10 MVA
    expect(d.meta.origin).toBe("2023-12-31T23:00:00.000Z");
  });

  it("names file, line and column for bad rows, or skips and lists them", () => {
    const lines = TEXT.split("\n");
    const withRow = (row: string) => [...lines, row].join("\n");
    const err = (row: string, opts = {}) => {
      try {
        parseMeterReadings(withRow(row), opts, "r.csv");
      } catch (e) {
        expect(e).toBeInstanceOf(SmartMeterCsvError);
        return e as SmartMeterCsvError;
      }
      throw new Error("no error");
    };
    expect(err("675,2024-03-04T00:05:00Z,1,1,4000").message).toMatch(
      /r\.csv:13: column 2: duplicate reading of meter "675" at 2024-03-04T00:05:00Z \(first at line 8\)/,
    );
    expect(err("675,2024-03-04T00:45:00Z,0x1F,1,4000").column).toBe(3);
    expect(err("675,2024-03-04T00:45:00Z,1,1,-4000").message).toMatch(/voltage -4000 must be positive/);
    expect(err("675,yesterday,1,1,4000").message).toMatch(/timestamp "yesterday"/);
    expect(err("675,2024-03-04 00:45:00,1,1,4000").message).toMatch(/inconsistent timestamps/);
    expect(err("999,2024-03-04T00:45:00Z,1,1,4000", { buses: ["650", "675"] }).message).toMatch(
      /unknown meter "999": not a bus of the feeder/,
    );
    const d = parseMeterReadings(
      withRow("675,2024-03-04T00:45:00Z,0x1F,1,4000"),
      { skipBadRows: true },
      "r.csv",
    );
    expect(d.skipped).toEqual([{ file: "r.csv", line: 13, column: 3, reason: 'p "0x1F" is not a number' }]);
  });

  it("refuses a meter with voltages but no p/q, and missing bases", () => {
    expect(() =>
      parseMeterReadings(
        TEXT.replace(/,90,10,/, ",,,")
          .replace(/,100,20,/, ",,,")
          .replace(/,110,30,/, ",,,")
          .replace(/,200,40,/, ",,,"),
      ),
    ).toThrow(/meter "675" has voltage readings but no p\/q/);
    expect(() => parseMeterReadings(TEXT.replace("# base_mva: 1\n", ""))).toThrow(/base_mva is needed/);
  });
});
