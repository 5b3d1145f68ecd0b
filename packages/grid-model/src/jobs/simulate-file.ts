// `x grid simulate` as a library call: a feeder and its load profiles → simulated meter data → a meter file, and
// the summary of what was written.

import type { Feeder } from "../feeder.js";
import { loadFeeder } from "../io/load.js";
import { writeMeterReadings } from "../io/long-format.js";
import type { MeterFormat } from "../io/meter-file.js";
import { writeSmartMeterCsv } from "../io/smartmeter-csv.js";
import { type SimulationSummary, simulationEffects } from "../reports.js";
import { loadProfilesFor } from "../simulate/loads.js";
import { ProfileError, readShapeCsv } from "../simulate/shapes.js";
import {
  meteredVoltageRange,
  REALISTIC,
  type SimulationOptions,
  simulateSmartMeters,
} from "../simulate/simulate.js";
import { meterNoiseSigmas } from "../units.js";

/**
 * Simulation settings that contradict each other (e.g. a gross-error factor without a gross-error rate);
 * `options` names them (SimulationEffectValues / SimulateMeterFileOptions keys).
 */
export class SimulationOptionsError extends Error {
  override readonly name = "SimulationOptionsError";
  constructor(
    message: string,
    readonly options: readonly string[],
  ) {
    super(message);
  }
}

/**
 * A load-profile table that does not fit the feeder (a column that is neither a bus nor a household profile, or
 * a mix of both). `file` is the table; `reason` is the message without it.
 */
export class LoadProfilesError extends Error {
  override readonly name = "LoadProfilesError";
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/**
 * The realism effects of a simulation as plain values: SimulationOptions fields, and the meter accuracies and
 * gross-error figures they become (`noise` / `pqNoise` per `noiseModel`; `gross` with its factors).
 */
export interface SimulationEffectValues {
  readonly zip?: SimulationOptions["zip"];
  readonly pvFraction?: number;
  readonly pvSize?: number;
  readonly minuteVariability?: number;
  readonly voltageStepPu?: number;
  readonly energyStepWh?: number;
  readonly junctionLoad?: number;
  readonly meters?: "load" | "all";
  readonly clockOffsetMinutes?: number;
  readonly missing?: number;
  readonly missingRun?: number;
  readonly outliers?: number;
  /** |V| meter accuracy: a class (3σ) or σ itself, per `noiseModel` (default 0). */
  readonly noise?: number;
  /** P/Q meter accuracy (default 5 × `noise`, at most 20 %). */
  readonly pqNoise?: number;
  /** "class" (default): `noise` / `pqNoise` are 3σ accuracy classes; "sigma": they are σ. */
  readonly noiseModel?: "class" | "sigma";
  /** Share of readings with a fixed gross error (default 0). */
  readonly gross?: number;
  /** P/Q factor of a gross reading (default: the simulator's, 10). */
  readonly grossPowerFactor?: number;
  /** |V| factor of a gross reading (default: the simulator's, 1.2). */
  readonly grossVoltageFactor?: number;
}

export type SimulationEffectKey = keyof SimulationEffectValues;

/** The SimulationOptions key of each plain effect value that maps one to one. */
const DIRECT = [
  "zip",
  "pvFraction",
  "pvSize",
  "minuteVariability",
  "voltageStepPu",
  "energyStepWh",
  "junctionLoad",
  "meters",
  "clockOffsetMinutes",
  "missing",
  "missingRun",
  "outliers",
] as const satisfies readonly (SimulationEffectKey & keyof SimulationOptions)[];

/** The values set explicitly: `given`, or else those that are not undefined. */
function givenKeys(
  values: SimulationEffectValues,
  given: Iterable<SimulationEffectKey> | undefined,
): ReadonlySet<SimulationEffectKey> {
  return new Set(
    given ?? (Object.keys(values) as SimulationEffectKey[]).filter((k) => values[k] !== undefined),
  );
}

/**
 * The effect options of a simulation: a value that was given wins, then the `preset`'s (e.g. REALISTIC), then
 * the value as it stands (the caller's default). `given` lists the values the user set explicitly (default:
 * every value that is not undefined). A gross-error factor given while no gross-error rate is in force is a
 * SimulationOptionsError.
 */
export function simulationEffectOptions(
  preset: Readonly<Partial<SimulationOptions>>,
  values: SimulationEffectValues,
  given?: Iterable<SimulationEffectKey>,
): Partial<SimulationOptions> {
  const typed = givenKeys(values, given);
  const out: Record<string, unknown> = {};
  for (const key of DIRECT)
    out[key] = typed.has(key) || preset[key] === undefined ? values[key] : preset[key];
  const { voltageSigma, powerSigma } = meterNoiseSigmas(
    values.noise ?? 0,
    values.pqNoise,
    values.noiseModel ?? "class",
  );
  const noiseGiven = typed.has("noise");
  out.voltageSigma = noiseGiven || preset.voltageSigma === undefined ? voltageSigma : preset.voltageSigma;
  out.powerSigma =
    noiseGiven || typed.has("pqNoise") || preset.powerSigma === undefined ? powerSigma : preset.powerSigma;
  const factorGiven = typed.has("grossPowerFactor") || typed.has("grossVoltageFactor");
  const rate = (typed.has("gross") ? values.gross : (preset.grossErrors?.rate ?? values.gross)) ?? 0;
  if (factorGiven && !(rate > 0))
    throw new SimulationOptionsError(
      "a gross-error factor needs a gross-error rate (gross > 0, or a preset with one)",
      ["grossPowerFactor", "grossVoltageFactor", "gross"],
    );
  if (rate > 0 || factorGiven || typed.has("gross"))
    out.grossErrors = {
      rate,
      powerFactor: typed.has("grossPowerFactor")
        ? values.grossPowerFactor
        : (preset.grossErrors?.powerFactor ?? values.grossPowerFactor),
      voltageFactor: typed.has("grossVoltageFactor")
        ? values.grossVoltageFactor
        : (preset.grossErrors?.voltageFactor ?? values.grossVoltageFactor),
    };
  return out as Partial<SimulationOptions>;
}

export interface SimulateMeterFileOptions {
  /** The meter file to write (atomically). */
  readonly out: string;
  /** "wide" (default): the x-grid-smartmeter CSV; "long": meter,timestamp,p,q,v readings. */
  readonly format?: MeterFormat;
  /** A built-in feeder name, a feeder JSON or MATPOWER file (loadFeeder), or a Feeder. */
  readonly feeder: string | Feeder;
  /** A load-profile CSV (per bus or households; readShapeCsv). */
  readonly loads?: string;
  readonly samples: number;
  /** Default 1. */
  readonly seed?: number;
  /** Default 15. */
  readonly intervalMinutes?: number;
  readonly substeps?: number;
  readonly v0?: number;
  readonly voltageReading?: "mean" | "instant";
  readonly loadModel?: "households" | "lognormal";
  /** Spread of the power factor (SimulationOptions.pfVariation). */
  readonly pfVariation?: number;
  /** "realistic": the REALISTIC preset under the effect values (simulationEffectOptions). */
  readonly preset?: "realistic";
  readonly effects?: SimulationEffectValues;
  /** The effect values set explicitly (default: those not undefined); see simulationEffectOptions. */
  readonly given?: Iterable<SimulationEffectKey>;
  /** Significant digits in the file (default: shortest exact). */
  readonly precision?: number;
  /** Long format: ISO time of the first interval. */
  readonly start?: string;
}

/** What `simulateMeterFile` wrote, as `x grid simulate --json` prints it. */
export interface MeterFileSimulationSummary extends SimulationSummary {
  readonly format: MeterFormat;
}

export interface SimulateMeterFileHooks {
  /** After each simulated interval, with the feeder id. */
  readonly onProgress?: (p: {
    readonly feeder: string;
    readonly done: number;
    readonly total: number;
  }) => void;
}

/**
 * Simulates smart-meter data and writes it: loads the feeder and the load profiles, merges the effects with the
 * preset, simulates, records the noise settings in the file's header and writes the wide or long file
 * atomically (nothing is written when anything before fails). A profile table that does not fit the feeder is a
 * LoadProfilesError, contradicting settings a SimulationOptionsError.
 */
export async function simulateMeterFile(
  o: SimulateMeterFileOptions,
  hooks: SimulateMeterFileHooks = {},
): Promise<MeterFileSimulationSummary> {
  const format = o.format ?? "wide";
  if (o.loadModel === "lognormal" && o.loads)
    throw new SimulationOptionsError("load profiles and the lognormal load model exclude each other", [
      "loads",
      "loadModel",
    ]);
  if (o.start !== undefined && format !== "long")
    throw new SimulationOptionsError("a start time applies to the long format only", ["start", "format"]);
  const feeder = typeof o.feeder === "string" ? await loadFeeder(o.feeder) : o.feeder;
  let loadSource: Record<string, unknown> = {};
  if (o.loads) {
    const table = await readShapeCsv(o.loads);
    try {
      loadSource = loadProfilesFor(feeder, table);
    } catch (e) {
      throw e instanceof ProfileError ? new LoadProfilesError(o.loads, e.message) : e;
    }
  }
  const values = o.effects ?? {};
  const given = givenKeys(values, o.given);
  const realistic = o.preset === "realistic";
  const effects = simulationEffectOptions(realistic ? REALISTIC : {}, values, given);
  const { voltageSigma = 0, powerSigma = 0 } = effects;
  const seed = o.seed ?? 1;
  const t0 = Date.now();
  const data = simulateSmartMeters(feeder, {
    samples: o.samples,
    seed,
    intervalMinutes: o.intervalMinutes ?? 15,
    ...(o.v0 !== undefined ? { v0: o.v0 } : {}),
    ...(o.substeps !== undefined ? { substeps: o.substeps } : {}),
    voltageReading: o.voltageReading ?? "mean",
    ...effects,
    model: o.loadModel ?? "households",
    ...(o.pfVariation !== undefined ? { pfVariation: o.pfVariation } : {}),
    ...loadSource,
    onProgress: (done, total) => hooks.onProgress?.({ feeder: feeder.id, done, total }),
  });
  const noise = values.noise ?? 0;
  const noiseModel = values.noiseModel ?? "class";
  const { pqNoise } = meterNoiseSigmas(noise, values.pqNoise, noiseModel);
  const meta = data.meta as Record<string, string>;
  meta.noise_model = noiseModel;
  meta.noise_class_or_sigma =
    realistic && !given.has("noise") && !given.has("pqNoise")
      ? "realistic preset"
      : `v=${noise} pq=${pqNoise}`;
  if (realistic) meta.preset = "realistic";
  const precision = o.precision ? { precision: o.precision } : {};
  if (format === "long")
    await writeMeterReadings(o.out, data, {
      ...precision,
      ...(o.start !== undefined ? { start: o.start } : {}),
    });
  else await writeSmartMeterCsv(o.out, data, precision);
  const { missing, vmin, vmax } = meteredVoltageRange(data);
  return {
    out: o.out,
    format,
    feeder: feeder.id,
    buses: feeder.buses.length,
    meters: data.metered.filter(Boolean).length,
    samples: o.samples,
    intervalMinutes: data.intervalMinutes,
    seed,
    voltageSigma,
    powerSigma,
    missingReadings: missing,
    vmin,
    vmax,
    preset: realistic ? "realistic" : null,
    effects: simulationEffects(effects),
    seconds: (Date.now() - t0) / 1000,
  };
}
