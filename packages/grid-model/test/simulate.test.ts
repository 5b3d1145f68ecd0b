import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  accuracyClassSigma,
  builtinFeeder,
  loadProfilesFor,
  meteredVoltageRange,
  nominalLoadsPu,
  ProfileError,
  RadialSweep,
  remeter,
  type SmartMeterData,
  simulateSmartMeters,
} from "../src/index.js";
import { parseShapeCsv } from "../src/simulate/shapes.js";

const LOADS = new URL("../../../../shared/data/loads/", import.meta.url);
const f13 = builtinFeeder("ieee13");
const f69 = builtinFeeder("ieee69");

function relErrors(d: SmartMeterData, key: "vm" | "p", skipRoot = true): number[] {
  const out: number[] = [];
  d[key].forEach((s, j) => {
    if (skipRoot && j === d.root) return;
    const tr = d.truth![key][j];
    for (let t = 0; t < d.samples; t++) if (!Number.isNaN(s[t]) && tr[t] !== 0) out.push(s[t] / tr[t] - 1);
  });
  return out;
}
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => Math.sqrt(mean(a.map((v) => (v - mean(a)) ** 2)));

describe("smart-meter simulator", () => {
  it("is deterministic per seed", () => {
    const a = simulateSmartMeters(f13, { samples: 50, seed: 7, voltageSigma: 1e-3, missing: 0.05 });
    const b = simulateSmartMeters(f13, { samples: 50, seed: 7, voltageSigma: 1e-3, missing: 0.05 });
    const c = simulateSmartMeters(f13, { samples: 50, seed: 8, voltageSigma: 1e-3, missing: 0.05 });
    expect(a.vm.map((s) => Array.from(s))).toEqual(b.vm.map((s) => Array.from(s)));
    expect(Array.from(a.p[5])).not.toEqual(Array.from(c.p[5]));
  });

  it("noise-free single-step data satisfy the AC power flow exactly", () => {
    const d = simulateSmartMeters(f69, { samples: 60, seed: 3, substeps: 1, meters: "all", pvFraction: 0.3 });
    const sweep = new RadialSweep(f69);
    const { qCap } = nominalLoadsPu(f69);
    const n = f69.buses.length;
    const p = new Float64Array(n);
    const q = new Float64Array(n);
    let worst = 0;
    for (let t = 0; t < d.samples; t++) {
      for (let j = 0; j < n; j++) {
        p[j] = d.p[j][t];
        q[j] = d.q[j][t];
      }
      // Meter q is net of capacitors already; zero capacitors on the 69-bus feeder anyway.
      const pf = sweep.solve({ p, q, qCap }, { v0: d.vm[0][t], tol: 1e-13 });
      for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(pf.vm[j] - d.vm[j][t]));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it("meter noise has the requested relative σ and zero mean", () => {
    const sv = accuracyClassSigma(0.5);
    const sp = accuracyClassSigma(1);
    const d = simulateSmartMeters(f69, {
      samples: 200,
      seed: 4,
      voltageSigma: sv,
      powerSigma: sp,
      keepTruth: true,
    });
    const ev = relErrors(d, "vm");
    const ep = relErrors(d, "p");
    expect(ev.length).toBeGreaterThan(9000);
    expect(std(ev) / sv).toBeGreaterThan(0.95);
    expect(std(ev) / sv).toBeLessThan(1.05);
    expect(Math.abs(mean(ev))).toBeLessThan(4 * (sv / Math.sqrt(ev.length)));
    expect(std(ep) / sp).toBeGreaterThan(0.95);
    expect(std(ep) / sp).toBeLessThan(1.05);
  });

  it("quantises voltage and energy registers", () => {
    const vStep = 0.1 / 230;
    const d = simulateSmartMeters(f13, {
      samples: 40,
      seed: 5,
      voltageStepPu: vStep,
      energyStepWh: 10,
      intervalMinutes: 15,
    });
    for (let j = 1; j < d.busNames.length; j++) {
      if (!d.metered[j]) continue;
      for (let t = 0; t < d.samples; t++) {
        const k = d.vm[j][t] / vStep;
        expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-6);
        const wh = d.p[j][t] * 1000 * d.baseMva * 1000 * 0.25; // pu → kW → W × 0.25 h
        expect(Math.abs(wh / 10 - Math.round(wh / 10))).toBeLessThan(1e-6);
      }
    }
  });

  it("drops records and injects gross errors at the requested rates; the root is never missing", () => {
    const d = simulateSmartMeters(f69, {
      samples: 400,
      seed: 6,
      missing: 0.05,
      outliers: 0.01,
      keepTruth: true,
    });
    let missing = 0;
    let total = 0;
    let gross = 0;
    for (let j = 1; j < d.busNames.length; j++) {
      if (!d.metered[j]) continue;
      for (let t = 0; t < d.samples; t++) {
        total++;
        const m = Number.isNaN(d.vm[j][t]);
        expect(Number.isNaN(d.p[j][t])).toBe(m);
        expect(Number.isNaN(d.q[j][t])).toBe(m);
        if (m) missing++;
        else if (Math.abs(d.vm[j][t] / d.truth!.vm[j][t] - 1) > 0.015) gross++;
      }
    }
    expect(d.vm[0].every((v) => !Number.isNaN(v))).toBe(true);
    // Binomial: 5 % ± 4σ and 1 % ± 4σ.
    const sd = (p: number, n: number) => Math.sqrt((p * (1 - p)) / n);
    expect(Math.abs(missing / total - 0.05)).toBeLessThan(4 * sd(0.05, total));
    const kept = total - missing;
    expect(Math.abs(gross / kept - 0.01)).toBeLessThan(4 * sd(0.01, kept));
  });

  it("missing records can come in outages of a given mean length", () => {
    const d = simulateSmartMeters(f69, {
      samples: 2000,
      seed: 12,
      missing: 0.05,
      missingRun: 8,
      substeps: 1,
    });
    let missing = 0;
    let total = 0;
    let runs = 0;
    for (let j = 1; j < 69; j++) {
      if (!d.metered[j]) continue;
      for (let t = 0; t < d.samples; t++) {
        total++;
        if (Number.isNaN(d.vm[j][t])) {
          missing++;
          if (t === 0 || !Number.isNaN(d.vm[j][t - 1])) runs++;
        }
      }
    }
    expect(missing / total).toBeGreaterThan(0.04);
    expect(missing / total).toBeLessThan(0.06);
    expect(missing / runs).toBeGreaterThan(6.5);
    expect(missing / runs).toBeLessThan(9.5);
    expect(d.meta.missing_run).toBe("8");
  });

  it("remeter re-applies metering to the kept truth without re-running the power flows", () => {
    const opts = {
      samples: 120,
      seed: 13,
      keepTruth: true,
      voltageSigma: 1e-3,
      powerSigma: 3e-3,
      missing: 0.02,
    };
    const d = simulateSmartMeters(f13, opts);
    const again = remeter(d, { ...opts, seed: 13 });
    expect(again.vm.map((s) => Array.from(s))).toEqual(d.vm.map((s) => Array.from(s)));
    const clean = remeter(d, { meters: "all" });
    expect(clean.metered.every(Boolean)).toBe(true);
    for (let j = 0; j < 14; j++) expect(Array.from(clean.p[j])).toEqual(Array.from(d.truth!.p[j]));
    const noisier = remeter(d, { seed: 2, voltageSigma: 1e-2 });
    expect(std(relErrors(noisier, "vm"))).toBeGreaterThan(0.008);
    expect(noisier.truth).toBe(d.truth);
  });

  it("keeps the substation voltage in its band around v0", () => {
    const d = simulateSmartMeters(f13, { samples: 500, seed: 14, v0: 1.06, v0WalkSigma: 0.002 });
    const v0 = Array.from(d.vm[0]);
    expect(Math.min(...v0)).toBeGreaterThanOrEqual(1.06 * 0.99 - 1e-12);
    expect(Math.max(...v0)).toBeLessThanOrEqual(1.06 * 1.01 + 1e-12);
    expect(std(v0)).toBeGreaterThan(1e-3);
    expect(() => simulateSmartMeters(f13, { samples: 5, v0: 106 })).toThrow(/per-unit voltage/);
  });

  it("reproduces the spec §2.5 generator with model: lognormal", () => {
    const d = simulateSmartMeters(f69, {
      samples: 960,
      seed: 15,
      model: "lognormal",
      junctionLoad: 0.02,
      meters: "all",
      v0WalkSigma: 0,
    });
    expect(d.meta.substeps).toBe("1");
    expect(d.metered.every(Boolean)).toBe(true);
    const j = f69.buses.findIndex((b) => b.name === "61");
    const nom = f69.buses[j];
    const logs: number[] = [];
    const tanLogs: number[] = [];
    for (let t = 0; t < d.samples; t++) {
      // Steps are drawn at interval centres (t + 0.5).
      const s = 0.6 + 0.4 * Math.sin((2 * Math.PI * ((t + 0.5) % 96)) / 96 - 1.5) ** 2;
      logs.push(Math.log((d.p[j][t] * 1e4) / (nom.pKw * s)));
      tanLogs.push(Math.log(d.q[j][t] / d.p[j][t] / Math.min(1, Math.max(0.2, nom.qKvar / nom.pKw))));
    }
    expect(Math.abs(mean(logs))).toBeLessThan(0.05);
    expect(std(logs)).toBeGreaterThan(0.32);
    expect(std(logs)).toBeLessThan(0.38);
    expect(std(tanLogs)).toBeGreaterThan(0.37);
    expect(std(tanLogs)).toBeLessThan(0.43);
    // Zero-load buses carry 2 % of the largest load with tanφ 0.5.
    const z = f69.buses.findIndex((b) => b.name === "2");
    const maxKw = Math.max(...f69.buses.map((b) => b.pKw));
    expect(Math.exp(mean(Array.from(d.p[z]).map((v) => Math.log(v * 1e4))))).toBeGreaterThan(
      0.02 * maxKw * 0.6,
    );
    expect(Math.exp(mean(Array.from(d.p[z]).map((v) => Math.log(v * 1e4))))).toBeLessThan(0.02 * maxKw);
  });

  it("meters load buses by default, every bus with meters: all", () => {
    const a = simulateSmartMeters(f13, { samples: 5 });
    const b = simulateSmartMeters(f13, { samples: 5, meters: "all" });
    const zeroLoad = f13.buses.filter((x) => x.id !== 0 && x.pKw === 0).map((x) => x.id);
    expect(zeroLoad.length).toBe(4);
    for (const j of zeroLoad) {
      expect(a.metered[j]).toBe(false);
      expect(Number.isNaN(a.vm[j][0])).toBe(true);
      expect(b.metered[j]).toBe(true);
      expect(b.p[j][0]).toBe(0);
    }
    expect(b.metered.every(Boolean)).toBe(true);
  });

  it("produces daily shapes, heterogeneous customers and varied power factors", () => {
    const d = simulateSmartMeters(f69, { samples: 96 * 7, seed: 9, keepTruth: true, v0WalkSigma: 0 });
    const total = new Float64Array(96);
    for (let t = 0; t < d.samples; t++) for (const s of d.truth!.p) total[t % 96] += s[t];
    const night = mean(Array.from(total.slice(8, 20))); // 02:00–05:00
    const evening = mean(Array.from(total.slice(72, 84))); // 18:00–21:00
    expect(evening / night).toBeGreaterThan(1.5);
    // Two loaded buses are far from perfectly correlated.
    const a = Array.from(d.truth!.p[60]);
    const b = Array.from(d.truth!.p[10]);
    const ma = mean(a);
    const mb = mean(b);
    const corr = mean(a.map((v, i) => (v - ma) * (b[i] - mb))) / (std(a) * std(b));
    expect(corr).toBeLessThan(0.95);
    // tanφ varies in time with pfVariation (default 0.3) and is constant with 0.
    const tan = Array.from(d.truth!.q[60]).map((q, t) => q / d.truth!.p[60][t]);
    expect(std(tan) / mean(tan)).toBeGreaterThan(0.1);
    const c = simulateSmartMeters(f69, { samples: 50, seed: 9, pfVariation: 0 });
    const tc = Array.from(c.q[60]).map((q, t) => q / c.p[60][t]);
    expect(std(tc) / mean(tc)).toBeLessThan(1e-12);
    // The feeder peak is near the nominal load (sized so), never far above it.
    let peak = 0;
    for (let t = 0; t < d.samples; t++) {
      let s = 0;
      for (const ser of d.truth!.p) s += ser[t];
      peak = Math.max(peak, s);
    }
    const nominal = f69.buses.reduce((s, x) => s + x.pKw, 0) / 1e4;
    expect(peak / nominal).toBeGreaterThan(0.6);
    expect(peak / nominal).toBeLessThan(1.3);
  });

  it("PV makes midday net load negative at some buses and leaves nights unchanged", () => {
    const opts = { samples: 96 * 2, seed: 11, keepTruth: true, v0WalkSigma: 0 } as const;
    const base = simulateSmartMeters(f69, opts);
    const pv = simulateSmartMeters(f69, { ...opts, pvFraction: 0.5, pvSize: 3 });
    expect(pv.meta.pv_buses.split(" ").length).toBe(24);
    let negative = 0;
    for (let j = 1; j < 69; j++) {
      for (let t = 0; t < pv.samples; t++) {
        const tod = (t % 96) / 4;
        if (tod < 5) expect(pv.truth!.p[j][t]).toBeCloseTo(base.truth!.p[j][t], 12);
        if (pv.truth!.p[j][t] < 0) negative++;
      }
    }
    expect(negative).toBeGreaterThan(0);
  });

  it("uses per-bus series from a user CSV as the load source", () => {
    // Bus 675 follows a 1-min ramp; Q given for 675, power-factor model for the others.
    const rows = ["minute,675,675:q"];
    for (let m = 0; m < 1440; m++) rows.push(`${m},${100 + m},${50}`);
    const table = parseShapeCsv(rows.join("\n"), "ramp.csv");
    const d = simulateSmartMeters(f13, { samples: 500, intervalMinutes: 1, substeps: 1, busProfiles: table });
    const j = f13.buses.findIndex((b) => b.name === "675");
    for (let t = 0; t < 500; t++) {
      expect(d.p[j][t] * 1000).toBeCloseTo(100 + t + 0.5, 9);
      expect(d.q[j][t] * 1000).toBeCloseTo(50 - 600 * d.vm[j][t] ** 2, 9); // minus the 600 kvar capacitor
    }
    expect(d.meta.user_profiles).toBe("bus");
    expect(() => parseShapeCsv("x,a\n1,2\n2,3", "bad.csv")).toThrow(ProfileError);
    expect(() => parseShapeCsv("minute,a\n0,1\n15,zz", "bad.csv")).toThrow(/bad\.csv:3: column "a": "zz"/);
    expect(() => parseShapeCsv("minute,a\n0,1\n15,2\n45,3", "bad.csv")).toThrow(/time step/);
  });

  const real = new URL("residential_1min_100profiles.csv", LOADS);
  it.skipIf(!existsSync(real))("runs on the real 1-min household profiles (end to end)", () => {
    const lib = parseShapeCsv(readFileSync(real, "utf8"), "residential_1min_100profiles.csv");
    expect(lib.stepMinutes).toBe(1);
    expect(lib.columns.length).toBe(100);
    const d = simulateSmartMeters(f69, {
      samples: 96 * 3,
      seed: 2,
      householdProfiles: lib,
      voltageSigma: accuracyClassSigma(0.1),
      powerSigma: accuracyClassSigma(0.5),
      keepTruth: true,
    });
    expect(d.meta.user_profiles).toBe("households");
    const v = d.truth!.vm.flatMap((s) => Array.from(s));
    expect(Math.min(...v)).toBeGreaterThan(0.85);
    expect(Math.max(...v)).toBeLessThan(1.02);
  });
});

describe("meteredVoltageRange", () => {
  it("counts missing readings and spans the others, metered buses only", () => {
    const vm = [
      new Float64Array([1.0, 1.01]),
      new Float64Array([0.95, Number.NaN]),
      new Float64Array([0.5, 2]),
    ];
    expect(meteredVoltageRange({ vm, metered: [true, true, false] })).toEqual({
      missing: 1,
      vmin: 0.95,
      vmax: 1.01,
    });
    expect(meteredVoltageRange({ vm, metered: [false, false, false] })).toEqual({
      missing: 0,
      vmin: Number.POSITIVE_INFINITY,
      vmax: 0,
    });
  });
});

describe("loadProfilesFor", () => {
  const table = (columns: string[]) => ({
    stepMinutes: 15,
    columns,
    series: columns.map(() => new Float64Array(4)),
  });
  const bus = f13.buses[1]!.name;

  it("per-bus series when the columns are bus names (kvar as <bus>:q), household profiles otherwise", () => {
    const perBus = table([bus, `${bus}:q`]);
    expect(loadProfilesFor(f13, perBus)).toEqual({ busProfiles: perBus });
    const households = table(["h1", "h2"]);
    expect(loadProfilesFor(f13, households)).toEqual({ householdProfiles: households });
  });

  it("refuses a table mixing bus and other columns, naming the column", () => {
    expect(() => loadProfilesFor(f13, table([bus, "h1"]))).toThrow(ProfileError);
    expect(() => loadProfilesFor(f13, table([bus, "h1"]))).toThrow(
      `column "h1" is not a bus of feeder ${f13.id}`,
    );
  });
});
