import { describe, expect, it } from "vitest";
import { parseSmartMeterCsv, SmartMeterCsvError } from "../src/index.js";

// A two-bus file: substation 650 and one metered load 675 (15-min grid).
const HEADER = [
  "# x-grid-smartmeter v1",
  "# feeder: tiny",
  "# base_kv_ll: 4.16",
  "# base_mva: 1",
  "# interval_min: 15",
  "# root: 650",
  "# buses: 650 675 680",
  "t,start_min,650.v_pu,675.v_pu,675.p_kw,675.q_kvar",
];
const ROWS = ["0,0,1,0.98,100,20", "1,15,1,0.979,110,21", "2,30,1,0.978,120,22"];
const parse = (rows: string[], header = HEADER, skipBadRows = false) =>
  parseSmartMeterCsv([...header, ...rows].join("\n"), "sm.csv", { skipBadRows });

/** The typed error, with file, line and column. */
function caught(f: () => unknown): SmartMeterCsvError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SmartMeterCsvError);
    return e as SmartMeterCsvError;
  }
  throw new Error("expected a SmartMeterCsvError");
}

describe("smart-meter CSV: bad input", () => {
  it("reads a good file", () => {
    const d = parse(ROWS);
    expect(d.samples).toBe(3);
    expect(d.p[1]![2]).toBeCloseTo(0.12, 15);
    expect(d.metered).toEqual([true, true, false]);
  });

  it("rejects a duplicate row, naming both lines", () => {
    const e = caught(() => parse([...ROWS, "1,15,1,0.979,110,21"]));
    expect([e.file, e.line, e.column]).toEqual(["sm.csv", 12, 1]);
    expect(e.message).toMatch(/sm\.csv:12: column 1: duplicate row: t = 1 already at line 10/);
  });

  it("rejects hexadecimal, Infinity and blank-padded garbage instead of reading 0x1F as 31", () => {
    for (const cell of ["0x1F", "Infinity", "1e", "1,5"]) {
      const rows = [ROWS[0]!, `1,15,1,0.979,${cell},21`];
      const e = caught(() => parse(rows));
      expect(e.line).toBe(10);
    }
    const e = caught(() => parse([ROWS[0]!, "1,15,1,0.979,0x1F,21"]));
    expect(e.column).toBe(5);
    expect(e.message).toMatch(/column "675\.p_kw": "0x1F" is not a number/);
  });

  it("rejects zero and negative voltages", () => {
    for (const v of ["0", "-0.98"]) {
      const e = caught(() => parse([ROWS[0]!, `1,15,1,${v},110,21`]));
      expect([e.line, e.column]).toEqual([10, 4]);
      expect(e.message).toMatch(/voltage .* must be positive/);
    }
  });

  it("rejects a metered bus with a missing column (no SingularMatrixError later, nothing unnoticed)", () => {
    const header = [...HEADER.slice(0, -1), "t,start_min,650.v_pu,675.v_pu,675.p_kw"];
    const e = caught(() => parse(["0,0,1,0.98,100"], header));
    expect(e.message).toMatch(/missing column "675\.q_kvar"/);
    const noRoot = [...HEADER.slice(0, -1), "t,start_min,675.v_pu,675.p_kw,675.q_kvar"];
    expect(caught(() => parse(["0,0,0.98,100,20"], noRoot)).message).toMatch(/missing column "650\.v_pu"/);
  });

  it("rejects unknown meter ids with their column", () => {
    const header = [...HEADER.slice(0, -1), "t,start_min,650.v_pu,999.v_pu,999.p_kw,999.q_kvar"];
    const e = caught(() => parse(ROWS, header));
    expect([e.line, e.column]).toEqual([8, 4]);
    expect(e.message).toMatch(/unknown meter "999"/);
  });

  it("rejects inconsistent timestamps and rows out of order", () => {
    expect(caught(() => parse([ROWS[0]!, "1,20,1,0.979,110,21"])).message).toMatch(
      /inconsistent timestamp: start_min 20 for t = 1, expected 15/,
    );
    expect(caught(() => parse([ROWS[0]!, ROWS[2]!, ROWS[1]!])).message).toMatch(/out of order/);
  });

  it("keeps the time grid across a gap: absent intervals are missing readings", () => {
    const d = parse([ROWS[0]!, ROWS[2]!]);
    expect(d.samples).toBe(3);
    expect(Number.isNaN(d.vm[1]![1]!)).toBe(true);
    expect(Array.from(d.startMinute)).toEqual([0, 15, 30]);
  });

  it("skipBadRows skips what it cannot read and reports file, line, column and reason", () => {
    const d = parse(
      [...ROWS, "1,15,1,0.979,110,21", "3,45,1,0.97,0x1F,21", "4,60,1,0.97,130,23"],
      HEADER,
      true,
    );
    expect(d.samples).toBe(5);
    expect(d.skipped).toEqual([
      { file: "sm.csv", line: 12, column: 1, reason: "duplicate row: t = 1 already at line 10" },
      { file: "sm.csv", line: 13, column: 5, reason: 'column "675.p_kw": "0x1F" is not a number' },
    ]);
    expect(Number.isNaN(d.p[1]![3]!)).toBe(true);
    expect(d.p[1]![4]).toBeCloseTo(0.13, 15);
  });
});
