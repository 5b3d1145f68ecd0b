import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  builtinFeeder,
  evaluateModelFile,
  type Feeder,
  IEEE69_MERGE_DROP_PU,
  identifyMeterFile,
  LoadProfilesError,
  MeterFormatOptionsError,
  parseFeederJson,
  parseMatpower,
  parseOpenDss,
  REALISTIC,
  readMeterData,
  type SimulationEffectKey,
  type SimulationEffectValues,
  type SimulationOptions,
  SimulationOptionsError,
  simulateMeterFile,
  simulationEffectOptions,
  UnidentifiedExportError,
} from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "grid-jobs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);
const files = () => readdirSync(dir).sort();
/** A feeder's branches by bus name. */
const named = (f: Feeder) =>
  f.branches.map((b) => ({ from: f.buses[b.from]!.name, to: f.buses[b.to]!.name }));

/** The tree as undirected "a-b" edges, with 692 merged into 671 (the 13-bus switch: one node electrically). */
const edgesOf = (branches: readonly { from: string; to: string }[]) =>
  branches
    .map((b) => [b.from, b.to].map((n) => (n === "692" ? "671" : n)).sort())
    .filter(([a, b]) => a !== b)
    .map(([a, b]) => `${a}-${b}`)
    .sort();

// The CLI's defaults for the effect values (x grid simulate's option table).
const CLI_DEFAULTS = {
  pvFraction: 0,
  pvSize: 0.5,
  minuteVariability: 0,
  voltageStepPu: 0,
  energyStepWh: 0,
  junctionLoad: 0,
  meters: "load",
  clockOffsetMinutes: 0,
  missing: 0,
  missingRun: 1,
  outliers: 0,
  noise: 0,
  noiseModel: "class",
  gross: 0,
  grossPowerFactor: 10,
  grossVoltageFactor: 1.2,
} as const satisfies SimulationEffectValues;

describe("simulationEffectOptions: a given value wins, then the preset, then the default", () => {
  /** The numeric effects that map one to one onto SimulationOptions (the noise and gross figures do not). */
  type Direct = Exclude<
    {
      [K in keyof typeof CLI_DEFAULTS]: (typeof CLI_DEFAULTS)[K] extends number ? K : never;
    }[keyof typeof CLI_DEFAULTS],
    "noise" | "gross" | "grossPowerFactor" | "grossVoltageFactor"
  >;
  const DIRECT = (Object.keys(CLI_DEFAULTS) as (keyof typeof CLI_DEFAULTS)[]).filter(
    (k): k is Direct =>
      typeof CLI_DEFAULTS[k] === "number" &&
      !["noise", "gross", "grossPowerFactor", "grossVoltageFactor"].includes(k),
  );

  it("without a preset the values pass through; noise classes become σ = class / 3", () => {
    const e = simulationEffectOptions({}, { ...CLI_DEFAULTS, noise: 0.003, pvFraction: 0.2 }, ["noise"]);
    expect(e).toMatchObject({ pvFraction: 0.2, pvSize: 0.5, meters: "load", missingRun: 1 });
    expect(e.voltageSigma).toBeCloseTo(0.001, 15);
    // pqNoise defaults to 5 × noise (1.5 %), σ 0.5 %.
    expect(e.powerSigma).toBeCloseTo(0.005, 15);
    expect(e.grossErrors).toBeUndefined();
  });

  it("the REALISTIC preset fills what was not given; a given value (even the default's) overrides it", () => {
    const none = simulationEffectOptions(REALISTIC, CLI_DEFAULTS, []);
    expect(none).toMatchObject({
      zip: { z: 0.4, i: 0.3, p: 0.3 },
      pvFraction: 0.3,
      pvSize: 1.5,
      minuteVariability: 0.3,
      energyStepWh: 10,
      meters: "all",
      clockOffsetMinutes: 2,
      missing: 0.05,
      missingRun: 4,
      outliers: 0,
      voltageSigma: 0.1 / 300,
      powerSigma: 0.5 / 300,
      grossErrors: { rate: 0.001, powerFactor: 10, voltageFactor: 1.2 },
    });
    const some = simulationEffectOptions(REALISTIC, { ...CLI_DEFAULTS, pqNoise: 0.01 }, [
      "gross",
      "pvFraction",
      "pqNoise",
    ]);
    expect(some.pvFraction).toBe(0);
    expect(some.pvSize).toBe(1.5);
    // --gross 0 keeps a (zero-rate) gross-error record, which switches the effect off.
    expect(some.grossErrors).toEqual({ rate: 0, powerFactor: 10, voltageFactor: 1.2 });
    // pq given, |V| not: the |V| σ stays the preset's, the P/Q σ is the given class / 3.
    expect(some.voltageSigma).toBe(0.1 / 300);
    expect(some.powerSigma).toBeCloseTo(0.01 / 3, 15);
  });

  it("without `given`, the defined values count as given", () => {
    const e = simulationEffectOptions(REALISTIC, { pvFraction: 0.1, noise: 0.002, noiseModel: "sigma" });
    expect(e.pvFraction).toBe(0.1);
    expect(e.pvSize).toBe(1.5);
    expect(e.voltageSigma).toBe(0.002);
    expect(e.powerSigma).toBe(0.01);
  });

  it("a gross-error factor needs a gross-error rate in force (given, or the preset's)", () => {
    const factor = (preset: Partial<SimulationOptions>, gross: number, given: SimulationEffectKey[]) => () =>
      simulationEffectOptions(preset, { ...CLI_DEFAULTS, gross, grossPowerFactor: 5 }, given);
    expect(factor({}, 0, ["grossPowerFactor"])).toThrow(SimulationOptionsError);
    expect(factor(REALISTIC, 0, ["grossPowerFactor", "gross"])).toThrow(SimulationOptionsError);
    try {
      factor({}, 0, ["grossPowerFactor"])();
    } catch (e) {
      expect((e as SimulationOptionsError).options).toContain("grossPowerFactor");
    }
    expect(factor(REALISTIC, 0, ["grossPowerFactor"])().grossErrors).toEqual({
      rate: 0.001,
      powerFactor: 5,
      voltageFactor: 1.2,
    });
    expect(factor({}, 0.02, ["grossPowerFactor", "gross"])().grossErrors).toEqual({
      rate: 0.02,
      powerFactor: 5,
      voltageFactor: 1.2,
    });
  });

  it("property: each effect is the given value, else the preset's, else the value", () => {
    const value = fc.double({ min: 0, max: 1, noNaN: true });
    const valuesArb = fc.record(
      Object.fromEntries(DIRECT.map((k) => [k, value])) as Record<
        (typeof DIRECT)[number],
        fc.Arbitrary<number>
      >,
    );
    const presetArb = fc.record(
      Object.fromEntries(DIRECT.map((k) => [k, value])) as Record<
        (typeof DIRECT)[number],
        fc.Arbitrary<number>
      >,
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        valuesArb,
        presetArb,
        fc.subarray(DIRECT),
        fc.option(fc.double({ min: 0, max: 0.01, noNaN: true }), { nil: undefined }),
        fc.boolean(),
        (values, preset, given, presetSigma, noiseGiven) => {
          const p: Partial<SimulationOptions> =
            presetSigma === undefined ? preset : { ...preset, voltageSigma: presetSigma };
          const e = simulationEffectOptions(p, { ...CLI_DEFAULTS, ...values, noise: 0.003 }, [
            ...given,
            ...(noiseGiven ? (["noise"] as const) : []),
          ]);
          expect(DIRECT).toHaveLength(10);
          for (const k of DIRECT) {
            const want = given.includes(k) ? values[k] : (preset[k] ?? values[k]);
            expect(e[k]).toBe(want);
          }
          expect(e.voltageSigma).toBe(noiseGiven || presetSigma === undefined ? 0.001 : presetSigma);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("simulateMeterFile → identifyMeterFile → evaluateModelFile on the IEEE 13-bus feeder", () => {
  const csv = at("sm.csv");
  const model = at("model.json");
  const truth = builtinFeeder("ieee13");
  let simulated: Awaited<ReturnType<typeof simulateMeterFile>>;
  let identified: Awaited<ReturnType<typeof identifyMeterFile>>;
  const progress: number[] = [];
  const stages = new Set<string>();
  let identifiedModel = false;

  beforeAll(async () => {
    simulated = await simulateMeterFile(
      {
        out: csv,
        feeder: "ieee13",
        samples: 400,
        effects: { ...CLI_DEFAULTS, noise: 0.001, meters: "all" },
        given: ["noise", "meters"],
      },
      {
        onProgress: ({ feeder, done, total }) => feeder === "ieee13" && total === 400 && progress.push(done),
      },
    );
    identified = await identifyMeterFile(
      csv,
      { out: model, method: "lad", topology: "likelihood" },
      {
        onProgress: ({ feeder, stage }) => feeder === "ieee13" && stages.add(stage),
        onIdentified: (m) => {
          identifiedModel = m.branches.length === 13;
        },
      },
    );
  }, 60_000);

  it("simulates: the summary describes the file it wrote", async () => {
    expect(simulated).toMatchObject({
      out: csv,
      format: "wide",
      feeder: "ieee13",
      buses: 14,
      meters: 14,
      samples: 400,
      intervalMinutes: 15,
      seed: 1,
      missingReadings: 0,
      preset: null,
      effects: { meters: "every bus" },
    });
    expect(simulated.voltageSigma).toBeCloseTo(0.001 / 3, 15);
    expect(simulated.powerSigma).toBeCloseTo(0.005 / 3, 15);
    expect(progress).toHaveLength(400);
    expect(progress.at(-1)).toBe(400);
    const head = readFileSync(csv, "utf8").split("\n", 40);
    expect(head[0]).toBe("# x-grid-smartmeter v1");
    expect(head).toContain("# noise_model: class");
    expect(head).toContain("# noise_class_or_sigma: v=0.001 pq=0.005");
    const { data } = await readMeterData(csv);
    expect(data.samples).toBe(400);
    const vs = data.vm.flatMap((v) => [...v]);
    expect(Math.min(...vs)).toBeCloseTo(simulated.vmin, 12);
    expect(Math.max(...vs)).toBeCloseTo(simulated.vmax, 12);
  });

  it("identifies the exact 13-bus tree and writes the model file", () => {
    expect(identifiedModel).toBe(true);
    expect([...stages]).toEqual(expect.arrayContaining(["topology", "impedances"]));
    expect(identified).toMatchObject({
      out: model,
      feeder: "ieee13",
      buses: 14,
      branches: 13,
      samples: 400,
      method: "lad",
      solver: "highs",
      library: false,
      input: { file: csv, format: "wide" },
    });
    expect(identified.exports).toBeUndefined();
    const doc = JSON.parse(readFileSync(model, "utf8"));
    expect(doc).toMatchObject({ format: "x-grid-model/1", feeder: "ieee13", source: csv });
    expect(edgesOf(doc.branches)).toEqual(edgesOf(named(truth)));
  });

  it("evaluates: exact tree, every edge right, the contracted topology too", async () => {
    const r = await evaluateModelFile(model, "ieee13");
    expect(r).toMatchObject({ model, truth: "ieee13", exactTree: true, edgeAccuracy: 1 });
    expect(r.correctEdges).toBe(r.edges);
    expect(r.contracted).toMatchObject({ exactTree: true, edgeAccuracy: 1 });
    expect(r.contracted!.criterion).toBe(`nominal drop in |V|² < ${IEEE69_MERGE_DROP_PU} pu`);
    // A Feeder object works as the truth, and contractDrop 0 turns the contraction off.
    const off = await evaluateModelFile(model, truth, { contractDrop: 0 });
    expect(off.contracted).toBeUndefined();
    expect(off.mapeR).toBe(r.mapeR);
  });

  it("a flow-free branch without a placeholder: UnidentifiedExportError, nothing written", async () => {
    // The unloaded leaf 680 never carries flow: no identified impedance.
    writeFileSync(at("keep.json"), "old model\n");
    const before = files();
    const exports = { matpower: at("x.m"), dss: at("x.dss"), feederJson: at("x-feeder.json") };
    const err = await identifyMeterFile(csv, { out: at("keep.json"), exports }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnidentifiedExportError);
    const branches = (err as UnidentifiedExportError).branches;
    expect(branches).toHaveLength(1);
    expect(branches[0]).toMatch(/^6(71|92)-680$/);
    expect(files()).toEqual(before);
    expect(readFileSync(at("keep.json"), "utf8")).toBe("old model\n");

    const ok = await identifyMeterFile(csv, {
      out: at("placed.json"),
      exports,
      unidentifiedImpedance: { rPu: 0.001, xPu: 0.002 },
    });
    expect(ok.exports).toEqual([exports.matpower, exports.dss, exports.feederJson]);
    expect(ok.placeholderImpedance).toEqual({ rPu: 0.001, xPu: 0.002, branches });
    const read = [
      parseMatpower(readFileSync(exports.matpower, "utf8"), { file: exports.matpower }),
      parseOpenDss(readFileSync(exports.dss, "utf8"), { file: exports.dss }),
      parseFeederJson(readFileSync(exports.feederJson, "utf8"), exports.feederJson),
    ];
    expect(read[2]!.id).toBe("ieee13-identified");
    for (const f of read) {
      expect(edgesOf(named(f))).toEqual(edgesOf(named(truth)));
      const leaf = f.branches.find((b) => f.buses[b.to]!.name === "680")!;
      expect(leaf.rPu).toBeCloseTo(0.001, 12);
      expect(leaf.xPu).toBeCloseTo(0.002, 12);
    }
  });

  it("long-format options on a wide file: MeterFormatOptionsError naming them, nothing written", async () => {
    const before = files();
    const err = await identifyMeterFile(csv, {
      out: at("w.json"),
      long: { units: { v: "kV" }, root: "650" },
      busesFrom: "ieee13",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeterFormatOptionsError);
    expect((err as MeterFormatOptionsError).options).toEqual(["long.units", "long.root", "busesFrom"]);
    expect(files()).toEqual(before);
  });

  it("load profiles that do not fit the feeder: LoadProfilesError, nothing written", async () => {
    writeFileSync(at("mix.csv"), "minute,632,xyz\n0,1,2\n15,2,3\n30,1,1\n");
    const before = files();
    const err = await simulateMeterFile({
      out: at("never.csv"),
      feeder: "ieee13",
      samples: 10,
      loads: at("mix.csv"),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadProfilesError);
    expect((err as LoadProfilesError).reason).toBe('column "xyz" is not a bus of feeder ieee13');
    expect(files()).toEqual(before);
  });
});

describe("long-format input with unit options (no header)", () => {
  it("W / var / kV readings with the units, base and root given: the header file's tree and impedances", async () => {
    const long = at("long.csv");
    const s = await simulateMeterFile({
      out: long,
      format: "long",
      feeder: "ieee13",
      samples: 400,
      seed: 3,
      effects: { noise: 0.001, meters: "all" },
      start: "2024-03-04T00:00:00Z",
    });
    expect(s.format).toBe("long");
    const text = readFileSync(long, "utf8");
    expect(text).toMatch(/^# units: p=kW q=kvar v=V\n/);
    expect(text).toContain("\nmeter,timestamp,p,q,v\n650,2024-03-04T00:00:00Z,,,");
    // The bare export: no header comments, P in W, Q in var, |V| in kV.
    const scaled = (cell: string, f: number) => (cell === "" ? "" : String(Number(cell) * f));
    const bare = text
      .split("\n")
      .filter((r) => r !== "" && !r.startsWith("#"))
      .map((r, k) => {
        if (k === 0) return r;
        const [m, t, p, q, v] = r.split(",") as [string, string, string, string, string];
        return [m, t, scaled(p, 1000), scaled(q, 1000), scaled(v, 1e-3)].join(",");
      });
    writeFileSync(at("bare.csv"), `${bare.join("\n")}\n`);
    const fromHeader = await identifyMeterFile(long, { out: at("long.json") });
    expect(fromHeader.input).toEqual({ file: long, format: "long" });
    const fromBare = await identifyMeterFile(at("bare.csv"), {
      out: at("bare.json"),
      long: {
        units: { p: "W", q: "var", v: "kV" },
        baseKvLl: 4.16,
        baseMva: 1,
        root: "650",
        intervalMinutes: 15,
      },
      busesFrom: "ieee13",
    });
    expect(fromBare).toMatchObject({ feeder: "ieee13", buses: 14, branches: 13, input: { format: "long" } });
    const a = JSON.parse(readFileSync(at("long.json"), "utf8"));
    const b = JSON.parse(readFileSync(at("bare.json"), "utf8"));
    expect(b.branches.map((x: { from: string; to: string }) => `${x.from}-${x.to}`)).toEqual(
      a.branches.map((x: { from: string; to: string }) => `${x.from}-${x.to}`),
    );
    // W vs kW (and kV vs V) differ in the last bit after the conversion; the fits agree within 1 %.
    a.branches.forEach((x: { rPu: number | null; xPu: number | null }, k: number) => {
      for (const key of ["rPu", "xPu"] as const) {
        const want = x[key];
        if (want === null) expect(b.branches[k][key]).toBeNull();
        else expect(Math.abs(b.branches[k][key] - want)).toBeLessThanOrEqual(0.01 * Math.abs(want) + 1e-12);
      }
    });
    const r = await evaluateModelFile(at("bare.json"), "ieee13");
    expect(r).toMatchObject({ exactTree: true, edgeAccuracy: 1 });
    // Without the units the kV readings are read as volts: not the feeder's voltages.
    await expect(
      identifyMeterFile(at("bare.csv"), {
        out: at("wrong.json"),
        long: { baseKvLl: 4.16, baseMva: 1, root: "650" },
      }),
    ).rejects.toThrow(/bus 650 sample 0: \|V\| = 0\.001\d* is not a per-unit voltage/);
    expect(files()).not.toContain("wrong.json");
  }, 60_000);
});
