import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  builtinFeeder,
  type LongFormatWriteOptions,
  meterReadingLines,
  parseMeterReadings,
  readMeterReadings,
  type SmartMeterData,
  simulateSmartMeters,
  writeMeterReadings,
} from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "grid-long-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every reading of `b` equals that of `a` within `rel` (relative); NaN where `a` is NaN; the root's p/q are not compared. */
function expectSameSeries(a: SmartMeterData, b: SmartMeterData, rel: number): void {
  expect(b.busNames).toEqual(a.busNames);
  expect(b.root).toBe(a.root);
  expect(b.samples).toBe(a.samples);
  expect(b.intervalMinutes).toBe(a.intervalMinutes);
  expect(b.metered).toEqual(a.metered);
  expect(b.baseKvLl).toBe(a.baseKvLl);
  expect(b.baseMva).toBe(a.baseMva);
  let worst = 0;
  for (const k of ["vm", "p", "q"] as const)
    a[k].forEach((s, j) => {
      if (!a.metered[j] || (k !== "vm" && j === a.root)) return;
      for (let t = 0; t < a.samples; t++) {
        const x = s[t]!;
        const y = b[k][j]![t]!;
        if (Number.isNaN(x)) expect(Number.isNaN(y), `${k} ${a.busNames[j]} t=${t}`).toBe(true);
        else worst = Math.max(worst, Math.abs(y - x) / Math.max(Math.abs(x), 1e-9));
      }
    });
  expect(worst).toBeLessThanOrEqual(rel);
}

describe("long-format writer", () => {
  const sim = simulateSmartMeters(builtinFeeder("ieee13"), {
    samples: 96,
    seed: 2,
    meters: "load",
    voltageSigma: 0.001 / 3,
    powerSigma: 0.005 / 3,
    missing: 0.05,
  });

  it("writes simulated data that reads back as the same series (shortest exact numbers, kW/kvar/V)", async () => {
    const path = join(dir, "sm13.long.csv");
    await writeMeterReadings(path, sim);
    expect(readdirSync(dir)).toEqual(["sm13.long.csv"]); // no temporary left
    const text = readFileSync(path, "utf8");
    expect(text).toMatch(/^# units: p=kW q=kvar v=V\n# voltage: ll\n# feeder: ieee13\n/);
    expect(text).toContain("\nmeter,timestamp,p,q,v\n650,2024-01-01T00:00:00Z,,,");
    const back = await readMeterReadings(path);
    expect(back.feederId).toBe("ieee13");
    expectSameSeries(sim, back, 1e-13);
  });

  it("honours units, line-to-neutral voltages, end labels, a start time and a precision", () => {
    const opts: LongFormatWriteOptions = {
      units: { p: "MW", q: "Mvar", v: "kV" },
      voltage: "ln",
      label: "end",
      start: "2025-06-02T06:00:00+02:00",
      precision: 6,
    };
    const lines = [...meterReadingLines(sim, opts)];
    expect(lines).toContain("# label: end");
    const first = lines.find((l) => l.startsWith("650,"))!;
    expect(first.split(",")[1]).toBe("2025-06-02T04:15:00Z");
    const v = Number(first.split(",")[4]);
    expect(v).toBeCloseTo((sim.vm[0]![0]! * 4.16) / Math.sqrt(3), 4);
    expectSameSeries(sim, parseMeterReadings(lines.join("\n")), 5e-6);
  });

  it("refuses names it cannot write and leaves no file behind", async () => {
    const bad = { ...sim, busNames: sim.busNames.map((b, j) => (j === 3 ? "a,b" : b)) };
    const path = join(dir, "bad.csv");
    await expect(writeMeterReadings(path, bad)).rejects.toThrow(/bus name "a,b" cannot be written/);
    expect(readdirSync(dir)).not.toContain("bad.csv");
  });

  it("round-trips any series: write → read gives the same readings (property)", () => {
    const series = fc
      .record({
        n: fc.integer({ min: 2, max: 5 }),
        T: fc.integer({ min: 1, max: 12 }),
        interval: fc.constantFrom(1, 5, 15, 60),
        units: fc.record({
          p: fc.constantFrom("W", "kW", "MW", "pu") as fc.Arbitrary<"W" | "kW" | "MW" | "pu">,
          q: fc.constantFrom("var", "kvar", "Mvar", "pu") as fc.Arbitrary<"var" | "kvar" | "Mvar" | "pu">,
          v: fc.constantFrom("V", "kV", "pu") as fc.Arbitrary<"V" | "kV" | "pu">,
        }),
        voltage: fc.constantFrom("ll", "ln") as fc.Arbitrary<"ll" | "ln">,
        label: fc.constantFrom("start", "end") as fc.Arbitrary<"start" | "end">,
        seed: fc.integer({ min: 0, max: 1e6 }),
      })
      .map(({ n, T, interval, units, voltage, label, seed }) => {
        let s = seed;
        const rnd = () => {
          s = (s * 1103515245 + 12345) % 2147483648;
          return s / 2147483648;
        };
        const mk = (f: (j: number, t: number) => number) =>
          Array.from({ length: n }, (_, j) => Float64Array.from({ length: T }, (_, t) => f(j, t)));
        // Bus 0 is the root (always read); other buses are metered or not; a hole is NaN, never at t = 0.
        const metered = Array.from({ length: n }, (_, j) => j === 0 || rnd() < 0.8);
        const hole = (j: number, t: number) => !metered[j] || (t > 0 && rnd() < 0.2);
        const data: SmartMeterData = {
          feederId: "f",
          baseKvLl: 0.4 + 30 * rnd(),
          baseMva: 0.1 + 10 * rnd(),
          intervalMinutes: interval,
          startMinute: Float64Array.from({ length: T }, (_, t) => t * interval),
          metered,
          meta: {},
          busNames: Array.from({ length: n }, (_, j) => `b${j}`),
          root: 0,
          samples: T,
          vm: mk((j, t) => (hole(j, t) && j > 0 ? Number.NaN : 0.9 + 0.2 * rnd())),
          p: mk((j, t) => (j === 0 ? 0 : hole(j, t) ? Number.NaN : rnd() - 0.3)),
          q: mk((j, t) => (j === 0 ? 0 : hole(j, t) ? Number.NaN : 0.5 * rnd() - 0.2)),
        };
        return { data, opts: { units, voltage, label } satisfies LongFormatWriteOptions };
      });
    fc.assert(
      fc.property(series, ({ data, opts }) => {
        const back = parseMeterReadings([...meterReadingLines(data, opts)].join("\n"));
        expectSameSeries(data, back, 1e-12);
      }),
      { numRuns: 200 },
    );
  });
});
