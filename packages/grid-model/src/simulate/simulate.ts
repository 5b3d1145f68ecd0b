import { Rng } from "@x/tensor-core";
import type { Feeder } from "../feeder.js";
import { nominalLoadsPu } from "../feeder.js";
import { RadialSweep } from "../powerflow/sweep.js";
import { LoadModel, type LoadModelOptions } from "./loads.js";
import { Meter, type MeteringOptions } from "./metering.js";

/**
 * Smart-meter data simulator (docs/simulation.md): per-bus loads → AC power flow (backward/forward sweep) at sub-interval
 * steps → interval averages of |V|, P and Q → metering errors. Seeded and deterministic.
 */

export interface SimulationOptions extends LoadModelOptions, MeteringOptions {
  /** Number of reporting intervals T. */
  readonly samples: number;
  /** Reporting interval in minutes (1, 15, 30, 60 …). Default 15. */
  readonly intervalMinutes?: number;
  /** Power flows per interval (default min(interval, 15); 1 for the "lognormal" model); split evenly. */
  readonly substeps?: number;
  /** Start time in minutes from Monday 00:00 (default 0). */
  readonly startMinute?: number;
  readonly seed?: number | string;
  /** "load": meters at buses with load (default); "all": every bus. The root voltage is always measured. */
  readonly meters?: "load" | "all";
  /** Report |V| as the interval mean (default) or the instantaneous value at the interval end. */
  readonly voltageReading?: "mean" | "instant";
  /** Nominal substation voltage (pu; default the feeder's rootVoltagePu, e.g. 1.06 mimics the IEEE 13 regulator). */
  readonly v0?: number;
  /** Std. dev. of the substation voltage random walk per 15 min (pu; default 0.0005); 0 keeps it fixed. */
  readonly v0WalkSigma?: number;
  /** Half-width of the band the substation voltage stays in (relative; default 0.01 = ±1 %). */
  readonly v0Band?: number;
  /** Keep the noise-free interval values as `truth` (needed by `remeter`). */
  readonly keepTruth?: boolean;
  /** Mean length (intervals) of a meter outage; 1 (default) = independent missing records. */
  readonly missingRun?: number;
  /** Called after each interval with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  /** Voltage-dependent loads (ZIP fractions z + i + p = 1); default constant power. { z: 1, i: 0, p: 0 } = constant impedance. */
  readonly zip?: { readonly z: number; readonly i: number; readonly p: number };
  /**
   * Per-meter clock offsets: each meter (not the substation) averages its interval over a window shifted by a
   * random offset, uniform in ±clockOffsetMinutes and rounded to the power-flow sub-step (default 0).
   */
  readonly clockOffsetMinutes?: number;
}

/**
 * The options that make simulated meter data look like a real AMI export (each also usable alone):
 * ZIP loads (40 % constant impedance, 30 % current, 30 % power), PV at 30 % of the loaded buses sized at 1.5× their
 * nominal load (reverse flow at midday), 15-min interval means of 1-min power flows with minute-scale load
 * variability (σ 0.3), 0.1 V voltage registers on a 230 V base, 10 Wh energy registers, zero-injection junctions
 * (no synthetic junction load; junctions metered for voltage, P = Q = 0), meter clocks off by up to ±2 min,
 * 0.1 %-class voltage and 0.5 %-class power meters, 5 % missing records in outages of 4 intervals on average and
 * 0.1 % gross readings (P/Q ×10, |V| ×1.2).
 */
export const REALISTIC: Readonly<Partial<SimulationOptions>> = {
  zip: { z: 0.4, i: 0.3, p: 0.3 },
  pvFraction: 0.3,
  pvSize: 1.5,
  minuteVariability: 0.3,
  voltageStepPu: 0.1 / 230,
  energyStepWh: 10,
  junctionLoad: 0,
  meters: "all",
  clockOffsetMinutes: 2,
  voltageSigma: 0.1 / 300,
  powerSigma: 0.5 / 300,
  missing: 0.05,
  missingRun: 4,
  grossErrors: { rate: 0.001 },
};

/** Per-bus interval series; compatible with the identification's MeterSeries. */
export interface SmartMeterSeries {
  readonly busNames: readonly string[];
  /** Index of the substation bus (0 for simulated data). */
  readonly root: number;
  readonly samples: number;
  /** |V| (pu) per bus; NaN = missing / no meter. The root series is the substation voltage. */
  readonly vm: readonly Float64Array[];
  /** Net active consumption (pu on baseMva, positive = load) per bus. */
  readonly p: readonly Float64Array[];
  /** Net reactive consumption (pu), load minus shunt-capacitor output. */
  readonly q: readonly Float64Array[];
}

export interface SmartMeterData extends SmartMeterSeries {
  readonly feederId: string;
  readonly baseKvLl: number;
  readonly baseMva: number;
  readonly intervalMinutes: number;
  /** Start of each interval in minutes from the simulation origin (Monday 00:00). */
  readonly startMinute: Float64Array;
  /** Which buses carry a meter. */
  readonly metered: readonly boolean[];
  /** Free-form provenance written to the CSV header (seed, noise, …). */
  readonly meta: Readonly<Record<string, string>>;
  /** Buses with a simulated load (the meter placement of `meters: "load"`); absent for data read from CSV. */
  readonly hasLoad?: readonly boolean[];
  readonly truth?: SmartMeterSeries;
  /** Rows a reader left out (skipBadRows), with file, line, column and reason. */
  readonly skipped?: readonly {
    readonly file: string;
    readonly line: number;
    readonly column: number;
    readonly reason: string;
  }[];
}

export interface RemeterOptions extends MeteringOptions {
  readonly seed?: number | string;
  readonly meters?: "load" | "all";
  readonly missingRun?: number;
}

export function simulateSmartMeters(feeder: Feeder, opts: SimulationOptions): SmartMeterData {
  const T = opts.samples;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`samples must be a positive integer (got ${T})`);
  const interval = opts.intervalMinutes ?? 15;
  if (!(interval > 0)) throw new RangeError(`intervalMinutes must be > 0 (got ${interval})`);
  // The lognormal i.i.d. generator draws one snapshot per interval; the household model averages sub-steps.
  const sub =
    opts.substeps ?? (opts.model === "lognormal" ? 1 : Math.max(1, Math.min(Math.round(interval), 15)));
  if (!Number.isInteger(sub) || sub < 1) throw new RangeError(`substeps must be a positive integer`);
  const seed = opts.seed ?? 1;
  // Separate streams so that changing one option (PV, metering) leaves the other random draws unchanged.
  const rng = new Rng(seed);
  const loads = new LoadModel(feeder, new Rng(`${seed}/loads`), opts, new Rng(`${seed}/pv`));
  new Meter(new Rng(0), opts); // validate the metering options before the long power-flow loop
  const sweep = new RadialSweep(feeder);
  const n = feeder.buses.length;
  const { qCap } = nominalLoadsPu(feeder);
  const hasLoad = new Array<boolean>(n).fill(false);
  for (const m of loads.buses) hasLoad[m.bus] = true;

  const mk = () => Array.from({ length: n }, () => new Float64Array(T));
  const truth = { vm: mk(), p: mk(), q: mk() };
  const startMinute = new Float64Array(T);
  const pNow = new Float64Array(n);
  const qNow = new Float64Array(n);
  const v0Nominal = opts.v0 ?? feeder.rootVoltagePu;
  if (!(v0Nominal > 0.5 && v0Nominal < 1.5))
    throw new RangeError(`v0 must be a per-unit voltage (got ${v0Nominal})`);
  const band = opts.v0Band ?? 0.01;
  const dtSub = interval / sub;
  const walk = (opts.v0WalkSigma ?? 0.0005) * Math.sqrt(dtSub / 15);
  let v0 = v0Nominal;
  const t0 = opts.startMinute ?? 0;
  const instant = opts.voltageReading === "instant";
  // Clock offsets in sub-steps per meter (the substation's clock is the reference).
  const maxOff = Math.round((opts.clockOffsetMinutes ?? 0) / dtSub);
  if (!(maxOff >= 0)) throw new RangeError("clockOffsetMinutes must be >= 0");
  const clockRng = new Rng(`${seed}/clocks`);
  const offset = Int32Array.from({ length: n }, (_, j) =>
    j === 0 || maxOff === 0 ? 0 : Math.round(clockRng.uniformIn(-maxOff, maxOff)),
  );
  const zip = opts.zip;
  const loadsPu = { p: pNow, q: qNow, qCap, ...(zip ? { zip } : {}) };
  for (let t = 0; t < T; t++) startMinute[t] = t0 + t * interval;
  // Sub-step g covers minutes t0 + g·dt … (g + 1)·dt; meter j's interval t averages g ∈ [t·sub + o_j, (t+1)·sub + o_j).
  const g0 = -maxOff;
  const g1 = T * sub + maxOff;
  let done = 0;
  for (let g = g0; g < g1; g++) {
    if (walk > 0) {
      v0 += walk * rng.normal();
      v0 = Math.min(v0Nominal * (1 + band), Math.max(v0Nominal * (1 - band), v0));
    }
    loads.at(t0 + (g + 0.5) * dtSub, pNow, qNow);
    const pf = sweep.solve(loadsPu, { v0, warmStart: true });
    for (let j = 0; j < n; j++) {
      const gj = g - offset[j]!;
      if (gj < 0 || gj >= T * sub) continue;
      const t = Math.floor(gj / sub);
      const v = pf.vm[j]!;
      const f = zip ? zip.z * v * v + zip.i * v + zip.p : 1;
      if (instant) {
        if (gj % sub === sub - 1) truth.vm[j]![t] = v;
      } else truth.vm[j]![t] += v / sub;
      truth.p[j]![t] += (pNow[j]! * f) / sub;
      truth.q[j]![t] += (qNow[j]! * f - qCap[j]! * v * v) / sub;
    }
    if (g >= 0 && (g + 1) % sub === 0) opts.onProgress?.(++done, T);
  }

  const busNames = feeder.buses.map((b) => b.name);
  const exact: SmartMeterData = {
    feederId: feeder.id,
    baseKvLl: feeder.baseKvLl,
    baseMva: feeder.baseMva,
    intervalMinutes: interval,
    startMinute,
    metered: busNames.map(() => true),
    hasLoad,
    meta: {
      generator: "@x/grid-model simulateSmartMeters",
      seed: String(seed),
      substeps: String(sub),
      voltage_reading: instant ? "instant" : "mean",
      load_model: opts.model ?? "households",
      pf_variation: String(opts.pfVariation ?? (opts.model === "lognormal" ? 0.4 : 0.3)),
      ...(zip ? { zip: `${zip.z} ${zip.i} ${zip.p}` } : {}),
      ...(maxOff > 0 ? { clock_offsets_min: Array.from(offset, (o) => o * dtSub).join(" ") } : {}),
      ...(opts.minuteVariability ? { minute_variability: String(opts.minuteVariability) } : {}),
      pv_buses: loads
        .pvBuses()
        .map((j) => busNames[j])
        .join(" "),
      user_profiles: opts.busProfiles ? "bus" : opts.householdProfiles ? "households" : "packaged",
    },
    busNames,
    root: 0,
    samples: T,
    ...truth,
  };
  const measured = remeter(exact, { ...opts, seed });
  if (!opts.keepTruth) return measured;
  return { ...measured, truth: { busNames, root: 0, samples: T, ...truth } };
}

/**
 * Apply meters to noise-free interval data: placement (`meters`), noise, quantisation, outliers and missing
 * records (independent, or outages with a mean length of `missingRun` intervals). Uses `data.truth` when present,
 * so a noise or sample-count sweep can re-meter one simulation without re-running the power flows.
 * Deterministic per `seed`; the root voltage (substation measurement) is never missing.
 */
export function remeter(data: SmartMeterData, opts: RemeterOptions = {}): SmartMeterData {
  const src: SmartMeterSeries = data.truth ?? data;
  const seed = opts.seed ?? 1;
  const meter = new Meter(new Rng(`${seed}/meters`), opts);
  const outageRng = new Rng(`${seed}/outages`);
  const run = opts.missingRun ?? 1;
  if (!(run >= 1)) throw new RangeError(`missingRun must be >= 1 (got ${run})`);
  // Two-state outage chain with stationary probability `missing` and mean outage length `run`.
  const enter = meter.missing > 0 ? meter.missing / (run * (1 - meter.missing)) : 0;
  const leave = 1 / run;
  const n = src.busNames.length;
  const T = src.samples;
  const root = src.root;
  const hasLoad = data.hasLoad ?? data.metered;
  const metered = src.busNames.map((_, j) => j === root || opts.meters === "all" || hasLoad[j]);
  const kwPerPu = 1000 * data.baseMva;
  const hours = data.intervalMinutes / 60;
  const mk = () => Array.from({ length: n }, () => new Float64Array(T));
  const vm = mk();
  const p = mk();
  const q = mk();
  for (let j = 0; j < n; j++) {
    const [sv, sp, sq] = [src.vm[j], src.p[j], src.q[j]];
    const [dv, dp, dq] = [vm[j], p[j], q[j]];
    if (!metered[j]) {
      dv.fill(Number.NaN);
      dp.fill(Number.NaN);
      dq.fill(Number.NaN);
      continue;
    }
    let out = enter > 0 && outageRng.uniform() < meter.missing;
    for (let t = 0; t < T; t++) {
      if (j === root) {
        dv[t] = meter.voltage(sv[t]);
        dp[t] = sp[t];
        dq[t] = sq[t];
        continue;
      }
      if (t > 0 && enter > 0) out = outageRng.uniform() < (out ? 1 - leave : enter);
      if (out || Number.isNaN(sv[t])) {
        dv[t] = dp[t] = dq[t] = Number.NaN;
        continue;
      }
      dv[t] = meter.voltage(sv[t]);
      dp[t] = meter.power(sp[t], kwPerPu, hours);
      dq[t] = meter.power(sq[t], kwPerPu, hours);
    }
  }
  return {
    feederId: data.feederId,
    baseKvLl: data.baseKvLl,
    baseMva: data.baseMva,
    intervalMinutes: data.intervalMinutes,
    startMinute: data.startMinute,
    metered,
    ...(data.hasLoad ? { hasLoad: data.hasLoad } : {}),
    meta: {
      ...data.meta,
      meter_seed: String(seed),
      meters: opts.meters ?? "load",
      voltage_sigma: String(meter.voltageSigma),
      power_sigma: String(meter.powerSigma),
      voltage_step_pu: String(meter.voltageStepPu),
      energy_step_wh: String(meter.energyStepWh),
      missing: String(meter.missing),
      missing_run: String(run),
      outliers: String(meter.outliers),
      ...(meter.grossRate > 0
        ? { gross_errors: `${meter.grossRate} (P/Q x${meter.grossPower}, |V| x${meter.grossVoltage})` }
        : {}),
    },
    busNames: src.busNames,
    root,
    samples: T,
    vm,
    p,
    q,
    ...(data.truth ? { truth: data.truth } : {}),
  };
}

/**
 * The |V| readings of the metered buses: how many are missing (NaN), and the lowest and highest of the others
 * (`vmin` +Infinity and `vmax` 0 when there are none).
 */
export function meteredVoltageRange(data: Pick<SmartMeterData, "vm" | "metered">): {
  missing: number;
  vmin: number;
  vmax: number;
} {
  let missing = 0;
  let vmin = Number.POSITIVE_INFINITY;
  let vmax = 0;
  data.vm.forEach((s, j) => {
    if (!data.metered[j]) return;
    for (const v of s) {
      if (Number.isNaN(v)) missing++;
      else {
        vmin = Math.min(vmin, v);
        vmax = Math.max(vmax, v);
      }
    }
  });
  return { missing, vmin, vmax };
}
