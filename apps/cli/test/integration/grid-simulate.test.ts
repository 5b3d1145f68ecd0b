import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readSmartMeterCsv } from "@x/grid-model";
import { describe, expect, it } from "vitest";
import { minutes, rate } from "../../src/commands/grid.js";
import { built, tempDir, x } from "./helpers.js";

const tmp = { path: tempDir("x-cli-grid-") };

const run = async (args: string[]) => x(args);

describe.skipIf(!built)("x grid simulate", () => {
  it("writes a smart-meter CSV for the 69-bus feeder with the requested noise", async () => {
    const out = join(tmp.path, "sm.csv");
    const r = await run([
      "grid",
      "simulate",
      "--feeder",
      "ieee69",
      "--samples",
      "300",
      "--noise",
      "0.1%",
      "--missing",
      "1%",
      "--outliers",
      "0.1%",
      "--seed",
      "4",
      "--out",
      out,
      "--json",
    ]);
    expect(r.err).toBe(""); // --json: no progress
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.feeder).toBe("ieee69");
    expect(summary.meters).toBe(49); // 48 loaded buses + the substation
    expect(summary.voltageSigma).toBeCloseTo(0.001 / 3, 12);
    expect(summary.powerSigma).toBeCloseTo(0.005 / 3, 12);
    const d = await readSmartMeterCsv(out);
    expect(d.feederId).toBe("ieee69");
    expect(d.samples).toBe(300);
    expect(d.intervalMinutes).toBe(15);
    expect(d.meta.seed).toBe("4");
    expect(d.meta.missing).toBe("0.01");
    expect(summary.missingReadings).toBeGreaterThan(0);
    expect(await readdir(tmp.path)).toEqual(["sm.csv"]);
  });

  it("accepts a MATPOWER/JSON feeder file, --meters all, --resolution and user load profiles", async () => {
    const { builtinFeeder, feederToJson } = await import("@x/grid-model");
    const fj = join(tmp.path, "f13.json");
    await writeFile(fj, JSON.stringify(feederToJson(builtinFeeder("ieee13"))));
    const prof = join(tmp.path, "loads.csv");
    const rows = ["hour,671,675,675:q"];
    for (let h = 0; h < 24; h++) rows.push(`${h},${800 + 10 * h},${500},${100}`);
    await writeFile(prof, rows.join("\n"));
    const out = join(tmp.path, "sm13.csv");
    const r = await run([
      "grid",
      "simulate",
      "--feeder",
      fj,
      "--samples",
      "48",
      "--resolution",
      "1h",
      "--meters",
      "all",
      "--substeps",
      "1",
      "--loads",
      prof,
      "--out",
      out,
    ]);
    expect(r.err).toMatch(/^simulate [a-z0-9-]+: .*100%/m); // piped progress: plain lines
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*sm13\.csv: ieee13, 14\/14 buses metered, 48 × 60 min/);
    const d = await readSmartMeterCsv(out);
    expect(d.metered.every(Boolean)).toBe(true);
    expect(d.meta.user_profiles).toBe("bus");
    expect(d.meta.substeps).toBe("1");
    const j = d.busNames.indexOf("675");
    // No noise requested: the CSV carries the user series (kW → pu on 1 MVA).
    expect(d.p[j][5] * 1000).toBeCloseTo(500, 9);
  });

  it("runs the lognormal load generator (i.i.d. lognormal on a daily sine shape) with junction loads", async () => {
    const out = join(tmp.path, "lognormal.csv");
    const r = await run([
      "grid",
      "simulate",
      "--feeder",
      "ieee37",
      "--samples",
      "96",
      "--load-model",
      "lognormal",
      "--junction-load",
      "2%",
      "--meters",
      "all",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    const d = await readSmartMeterCsv(out);
    expect(d.meta.load_model).toBe("lognormal");
    expect(d.meta.substeps).toBe("1");
    const junction = d.busNames.indexOf("702");
    expect(d.p[junction].every((v) => v > 0)).toBe(true);
  });

  it("reports usage and data errors", async () => {
    const out = join(tmp.path, "x.csv");
    const noOut = await run(["grid", "simulate", "--samples", "10"]);
    expect(noOut.code).toBe(2);
    expect(noOut.err).toMatch(/required option '-o, --out <file>' not specified/);
    const badNoise = await run(["grid", "simulate", "--noise", "0.1", "--out", out]);
    expect(badNoise.code).toBe(2);
    expect(badNoise.err).toMatch(/did you mean 0\.1%/);
    const badFeeder = await run(["grid", "simulate", "--feeder", "ieee123", "--out", out]);
    expect(badFeeder.code).toBe(1);
    expect(badFeeder.err).toMatch(/unknown feeder "ieee123"/);
    const badLoads = await run([
      "grid",
      "simulate",
      "--feeder",
      "ieee13",
      "--loads",
      join(tmp.path, "none.csv"),
      "--out",
      out,
    ]);
    expect(badLoads.code).toBe(1);
    expect(badLoads.err).toMatch(/ProfileError: .*none\.csv: cannot read \(ENOENT\)/);
  });

  it("parses rates and durations", () => {
    // commander calls a parser with the value and the previous one (none here)
    expect(rate()("0.1%", undefined)).toBeCloseTo(0.001, 15);
    expect(rate()("0.002", undefined)).toBe(0.002);
    expect(() => rate()("abc", undefined)).toThrow(/fraction or a percentage/);
    expect(minutes("15min", undefined)).toBe(15);
    expect(minutes("1h", undefined)).toBe(60);
    expect(minutes("30", undefined)).toBe(30);
    expect(() => minutes("0.5", undefined)).toThrow(/between 1min and 24h/);
  });
});
