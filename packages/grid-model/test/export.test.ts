import { describe, expect, it } from "vitest";
import {
  accuracyClassSigma,
  builtinFeeder,
  type Feeder,
  FeederError,
  feederFromJson,
  feederToJson,
  feederToMatpower,
  feederToOpenDss,
  identifyGrid,
  modelToFeeder,
  parseMatpower,
  parseOpenDss,
  simulateSmartMeters,
} from "../src/index.js";

function sameFeeder(a: Feeder, b: Feeder): void {
  expect(b.buses.map((x) => x.name)).toEqual(a.buses.map((x) => x.name));
  expect(b.baseKvLl).toBe(a.baseKvLl);
  expect(b.baseMva).toBe(a.baseMva);
  expect(b.rootVoltagePu).toBe(a.rootVoltagePu);
  a.branches.forEach((br, k) => {
    const o = b.branches[k]!;
    expect([o.from, o.to]).toEqual([br.from, br.to]);
    expect(o.rPu).toBeCloseTo(br.rPu, 15);
    expect(Math.abs(o.rPu - br.rPu)).toBeLessThanOrEqual(1e-12 * br.rPu);
    expect(Math.abs(o.xPu - br.xPu)).toBeLessThanOrEqual(1e-12 * br.xPu);
  });
  a.buses.forEach((bus, k) => {
    expect(b.buses[k]!.pKw).toBeCloseTo(bus.pKw, 9);
    expect(b.buses[k]!.qKvar).toBeCloseTo(bus.qKvar, 9);
    expect(b.buses[k]!.shuntCapKvar).toBeCloseTo(bus.shuntCapKvar, 9);
  });
}

describe("export of identified models", () => {
  const truth = builtinFeeder("ieee13");
  const data = simulateSmartMeters(truth, {
    samples: 600,
    seed: 4,
    meters: "all",
    junctionLoad: 0.02,
    voltageSigma: accuracyClassSigma(0.1),
    powerSigma: accuracyClassSigma(0.5),
  });
  const model = identifyGrid(data, { method: "ls" });
  const feeder = modelToFeeder(model, {
    id: "ieee13-identified",
    baseKvLl: 4.16,
    baseMva: 1,
    loadsFrom: data,
  });

  it("turns the model into a feeder with the identified tree, impedances and mean loads", () => {
    expect(feeder.buses[0]!.name).toBe(model.root);
    for (const br of model.branches) {
      const to = feeder.buses.find((b) => b.name === br.to)!;
      const fb = feeder.branches[to.id - 1]!;
      expect(feeder.buses[fb.from]!.name).toBe(br.from);
      expect(fb.rPu).toBeCloseTo(Math.max(br.rPu, 0), 15);
    }
    expect(feeder.buses.find((b) => b.name === "675")!.pKw).toBeGreaterThan(100);
  });

  it("round-trips through the feeder JSON, MATPOWER and OpenDSS", () => {
    sameFeeder(feeder, feederFromJson(JSON.parse(JSON.stringify(feederToJson(feeder)))));
    const m = feederToMatpower(feeder);
    expect(m).toContain("mpc.bus_name = {");
    sameFeeder(feeder, parseMatpower(m, { file: "x.m" }));
    const dss = feederToOpenDss(feeder);
    expect(dss).toMatch(/^New Line\.650_632 bus1=650 bus2=632 phases=3 r1=/m);
    sameFeeder(feeder, parseOpenDss(dss, { file: "x.dss" }));
  });

  it("round-trips a built-in feeder with its capacitors, loads and transformer", () => {
    const f = builtinFeeder("ieee13");
    sameFeeder(f, parseMatpower(feederToMatpower(f)));
    sameFeeder(f, parseOpenDss(feederToOpenDss(f)));
  });

  it("refuses unidentifiable branches unless given a stand-in impedance, and bad OpenDSS input", () => {
    const withNaN = {
      ...model,
      branches: model.branches.map((b, k) => (k === 0 ? { ...b, rPu: Number.NaN } : b)),
    };
    expect(() => modelToFeeder(withNaN, { baseKvLl: 4.16, baseMva: 1 })).toThrow(FeederError);
    expect(() =>
      modelToFeeder(withNaN, { baseKvLl: 4.16, baseMva: 1, unidentified: { rPu: 1e-4, xPu: 1e-4 } }),
    ).not.toThrow();
    expect(() =>
      parseOpenDss("New Circuit.a basekv=4.16 bus1=a\nNew Transformer.t1 phases=3", { file: "f.dss" }),
    ).toThrow(/f\.dss:2: unsupported element class "Transformer"/);
  });
});
