import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  builtinFeeder,
  parseSmartMeterCsv,
  readSmartMeterCsv,
  SmartMeterCsvError,
  simulateSmartMeters,
  writeSmartMeterCsv,
} from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "grid-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const same = (a: Float64Array, b: Float64Array) => {
  expect(a.length).toBe(b.length);
  for (let t = 0; t < a.length; t++) {
    if (Number.isNaN(a[t])) expect(Number.isNaN(b[t])).toBe(true);
    else expect(b[t]).toBeCloseTo(a[t], 12);
  }
};

describe("smart-meter CSV", () => {
  it("round-trips simulated data exactly (missing readings, unmetered buses, metadata)", async () => {
    const f = builtinFeeder("ieee13");
    const d = simulateSmartMeters(f, {
      samples: 120,
      seed: 3,
      voltageSigma: 1e-3,
      missing: 0.1,
      intervalMinutes: 30,
    });
    const path = join(dir, "sm.csv");
    await writeSmartMeterCsv(path, d);
    expect(readdirSync(dir)).toEqual(["sm.csv"]); // the temp file was renamed
    const text = readFileSync(path, "utf8");
    expect(text.startsWith("# x-grid-smartmeter v1\n# feeder: ieee13\n")).toBe(true);
    const header = text.split("\n").find((l) => l.startsWith("t,"))!;
    expect(header.startsWith("t,start_min,650.v_pu,")).toBe(true);
    expect(header).not.toContain("650.p_kw");
    expect(header).not.toContain("680."); // zero-load bus, no meter
    const r = await readSmartMeterCsv(path);
    expect(r.busNames).toEqual(d.busNames);
    expect(r.root).toBe(0);
    expect(r.samples).toBe(120);
    expect(r.intervalMinutes).toBe(30);
    expect(r.baseMva).toBe(1);
    expect(r.baseKvLl).toBe(4.16);
    expect(r.metered).toEqual(d.metered);
    expect(r.meta.seed).toBe("3");
    same(d.startMinute, r.startMinute);
    for (let j = 0; j < f.buses.length; j++) {
      same(d.vm[j], r.vm[j]);
      same(d.p[j], r.p[j]);
      same(d.q[j], r.q[j]);
    }
  });

  it("rejects malformed files with file:line and the column", () => {
    const d = simulateSmartMeters(builtinFeeder("ieee13"), { samples: 3 });
    const lines = [
      "# x-grid-smartmeter v1",
      `# feeder: ieee13`,
      "# base_kv_ll: 4.16",
      "# base_mva: 1",
      "# interval_min: 15",
      "# root: 650",
      `# buses: ${d.busNames.join(" ")}`,
      "t,start_min,650.v_pu,675.v_pu,675.p_kw,675.q_kvar",
      "0,0,1,0.98,100,20",
    ];
    expect(parseSmartMeterCsv(lines.join("\n")).p[d.busNames.indexOf("675")][0]).toBeCloseTo(0.1, 15);
    const bad = (i: number, line: string) => () => {
      const l = [...lines];
      l[i] = line;
      parseSmartMeterCsv(l.join("\n"), "sm.csv");
    };
    expect(bad(8, "0,0,1,0.98,abc,20")).toThrow(/sm\.csv:9: column 5: column "675\.p_kw": "abc"/);
    expect(bad(8, "0,0,1,0.98")).toThrow(
      /sm\.csv:9: column 5: 4 fields, header has 6: column "\S+" is missing/,
    );
    expect(bad(7, "t,start_min,650.v_pu,999.v_pu,675.p_kw,675.q_kvar")).toThrow(
      /unknown meter "999" \(not in # buses\)/,
    );
    expect(bad(7, "t,start_min,650.v_pu,675.volts,675.p_kw,675.q_kvar")).toThrow(/not <bus>\.v_pu/);
    expect(bad(3, "# nothing")).toThrow(SmartMeterCsvError);
    expect(bad(3, "# nothing")).toThrow(/"# base_mva: …" is missing/);
  });
});
