import type { Rng } from "@x/tensor-core";
import type { Feeder } from "../feeder.js";
import {
  householdProfiles,
  ProfileError,
  pvShape,
  type ShapeTable,
  sampleCyclic,
  weekShape,
} from "./shapes.js";

/**
 * Per-bus load time series : each loaded bus aggregates N household daily profiles with random
 * time shifts, day-to-day re-sampling and a per-household daily scale, modulated by a weekly shape and scaled so
 * that the bus peak is about its nominal kW; reactive power from the bus's base tanφ times a slowly varying
 * log-normal factor (varied power factors); optional PV at a fraction of the buses (unity power factor).
 * Or: the user's own per-bus series (columns named by bus name) replace the synthetic model for those buses.
 */

export interface LoadModelOptions {
  /**
   * "households" (default): aggregated household profiles as described above. "lognormal": the simple
   * synthetic generator — p = P_nom · (0.6 + 0.4 sin²(2π·(t mod 96)/96 − 1.5)) · lognormal(0, lognormalSigma) i.i.d.
   * per bus and step (t = 15-min index), tanφ factor lognormal(0, pfVariation) i.i.d. (default σ 0.4).
   */
  readonly model?: "households" | "lognormal";
  /** σ of the i.i.d. log-normal load factor of the "lognormal" model (default 0.35). */
  readonly lognormalSigma?: number;
  /** Nominal kW per household used to size N = P_nom / kwPerHousehold (default 2). */
  readonly kwPerHousehold?: number;
  /** Cap on households per bus (default 30; aggregation beyond this barely changes the shape). */
  readonly maxHouseholdsPerBus?: number;
  /** Random shift of each household's profile, ± minutes (default 60). */
  readonly shiftMinutes?: number;
  /** Probability that a household draws a new daily profile each day (default 0.5). */
  readonly resampleDay?: number;
  /** Log-normal σ of the per-household daily scale (default 0.2). */
  readonly householdDaySigma?: number;
  /** Log-normal σ of the time-varying tanφ factor; 0 gives constant power factors (default 0.3). */
  readonly pfVariation?: number;
  /** Correlation time of the tanφ factor in minutes (default 60). */
  readonly pfCorrelationMinutes?: number;
  /** Fraction of loaded buses with PV (default 0). */
  readonly pvFraction?: number;
  /** PV peak as a fraction of the bus's nominal kW (default 0.5). */
  readonly pvSize?: number;
  /**
   * Minute-scale load variability: each bus's load is multiplied by a log-normal AR(1) factor with this σ and a
   * correlation time of `minuteCorrelation` minutes (default 0 = off). With sub-interval power flows it makes a
   * 15-min mean differ from the mean state, as real interval meters do.
   */
  readonly minuteVariability?: number;
  /** Correlation time of the minute-scale factor in minutes (default 3). */
  readonly minuteCorrelation?: number;
  /** Give zero-load non-root buses this fraction of the largest bus load (default 0: they stay unloaded). */
  readonly junctionLoad?: number;
  /** Household profile library replacing the packaged 100 profiles (kW, one day or longer, cyclic). */
  readonly householdProfiles?: ShapeTable;
  /**
   * Per-bus series (kW) for the buses whose names appear as columns; a column `<bus>:q` gives that bus's kvar
   * (otherwise Q comes from the power-factor model). Cyclic if shorter than the simulation.
   */
  readonly busProfiles?: ShapeTable;
}

interface BusModel {
  readonly bus: number;
  readonly tanPhi: number;
  /** Synthetic model; absent when the bus uses a user series. */
  readonly households?: { idx: Int32Array; shift: Float64Array; scale: Float64Array; busScale: number };
  readonly userP?: Float64Array;
  /** Nominal kW of the "lognormal" model. */
  readonly pNom?: number;
  readonly userQ?: Float64Array;
  readonly pvKw: number;
  g: number;
  clear: number;
  /** Minute-scale log factor. */
  h?: number;
}

/**
 * How a load-profile table drives `feeder`'s loads: per-bus series when its columns are bus names (`<bus>:q` for
 * kvar), household profiles when none is. A table mixing both is a ProfileError naming the first column that is
 * not a bus.
 */
export function loadProfilesFor(
  feeder: Feeder,
  table: ShapeTable,
): { readonly busProfiles: ShapeTable } | { readonly householdProfiles: ShapeTable } {
  const names = new Set(feeder.buses.map((b) => b.name));
  const isBus = (c: string) => names.has(c.replace(/:q$/, ""));
  const perBus = table.columns.filter(isBus);
  if (perBus.length > 0 && perBus.length < table.columns.length) {
    const other = table.columns.find((c) => !isBus(c));
    throw new ProfileError(`column "${other}" is not a bus of feeder ${feeder.id}`);
  }
  return perBus.length > 0 ? { busProfiles: table } : { householdProfiles: table };
}

/** Generates net consumption (pu, positive = load) per bus for successive minutes. */
export class LoadModel {
  readonly buses: BusModel[] = [];
  private readonly lib: ShapeTable;
  private readonly week: ShapeTable;
  private readonly weekNorm: number;
  private readonly pv: ShapeTable;
  private readonly toPu: number;
  private day = Number.NaN;
  private lastMinute = Number.NaN;
  private readonly userStep: number;

  constructor(
    readonly feeder: Feeder,
    private readonly rng: Rng,
    private readonly opts: LoadModelOptions = {},
    /** Separate stream for the PV placement, so that adding PV leaves the loads unchanged. */
    pvRng: Rng = rng.clone(),
  ) {
    this.lib = opts.householdProfiles ?? householdProfiles();
    this.week = weekShape();
    let wsum = 0;
    for (const v of this.week.series[0]) wsum += v;
    this.weekNorm = this.week.series[0].length / wsum;
    this.pv = pvShape();
    this.toPu = 1 / (1000 * feeder.baseMva);
    this.userStep = opts.busProfiles?.stepMinutes ?? 1;
    const userCols = new Map<string, Float64Array>();
    opts.busProfiles?.columns.forEach((c, k) => {
      userCols.set(c, opts.busProfiles!.series[k]);
    });

    // Peak of the library's mean profile × peak of the normalised week: the expected peak of one household.
    const L = this.lib.series.length;
    const T = this.lib.series[0].length;
    let meanPeak = 0;
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let k = 0; k < L; k++) s += this.lib.series[k][t];
      meanPeak = Math.max(meanPeak, s / L);
    }
    let weekMax = 0;
    for (const v of this.week.series[0]) weekMax = Math.max(weekMax, v * this.weekNorm);
    const kwPerH = opts.kwPerHousehold ?? 2;
    const maxH = opts.maxHouseholdsPerBus ?? 30;
    const shift = opts.shiftMinutes ?? 60;
    const maxLoad = Math.max(...feeder.buses.map((b) => b.pKw));
    const junction = opts.junctionLoad ?? 0;

    for (const b of feeder.buses) {
      if (b.id === 0) continue;
      const userP = userCols.get(b.name);
      let pNom = b.pKw;
      let qNom = b.qKvar;
      if (pNom <= 0 && !userP && junction > 0) {
        pNom = junction * maxLoad;
        qNom = 0.5 * pNom;
      }
      if (pNom <= 0 && !userP) continue;
      const tanPhi = pNom > 0 ? Math.min(1, Math.max(0.2, qNom / pNom)) : 0.5;
      if (userP) {
        const userQ = userCols.get(`${b.name}:q`);
        this.buses.push({ bus: b.id, tanPhi, userP, ...(userQ ? { userQ } : {}), pvKw: 0, g: 0, clear: 1 });
        continue;
      }
      if (opts.model === "lognormal") {
        this.buses.push({ bus: b.id, tanPhi, pNom, pvKw: 0, g: 0, clear: 1 });
        continue;
      }
      const n = Math.max(1, Math.min(maxH, Math.round(pNom / kwPerH)));
      const idx = new Int32Array(n);
      const sh = new Float64Array(n);
      for (let h = 0; h < n; h++) {
        idx[h] = rng.int(L);
        sh[h] = rng.uniformIn(-shift, shift);
      }
      const busScale = pNom / (n * meanPeak * weekMax);
      this.buses.push({
        bus: b.id,
        tanPhi,
        households: { idx, shift: sh, scale: new Float64Array(n).fill(1), busScale },
        pvKw: 0,
        g: 0,
        clear: 1,
      });
    }
    // PV at a random subset of the loaded buses.
    const nPv = Math.round((opts.pvFraction ?? 0) * this.buses.length);
    if (nPv > 0) {
      const pick = pvRng.sampleWithoutReplacement(this.buses.length, nPv);
      const size = opts.pvSize ?? 0.5;
      for (const k of pick) {
        const m = this.buses[k];
        const nominal = Math.max(feeder.buses[m.bus].pKw, 0) || (m.userP ? Math.max(...m.userP) : 0);
        (this.buses[k] as { pvKw: number }).pvKw = size * nominal;
      }
    }
  }

  /** Buses carrying PV (ids). */
  pvBuses(): number[] {
    return this.buses.filter((b) => b.pvKw > 0).map((b) => b.bus);
  }

  private newDay(): void {
    const resample = this.opts.resampleDay ?? 0.5;
    const sigma = this.opts.householdDaySigma ?? 0.2;
    const L = this.lib.series.length;
    for (const m of this.buses) {
      m.clear = this.rng.uniformIn(0.4, 1);
      const hh = m.households;
      if (!hh) continue;
      for (let h = 0; h < hh.idx.length; h++) {
        if (this.rng.uniform() < resample) hh.idx[h] = this.rng.int(L);
        hh.scale[h] = Math.exp(this.rng.normal(-0.5 * sigma * sigma, sigma));
      }
    }
  }

  /**
   * Net consumption at `minute` (from the simulation start, Monday 00:00) into p, q (pu, length n; the root
   * and unloaded buses are set to 0). Minutes must be non-decreasing between calls.
   */
  at(minute: number, p: Float64Array, q: Float64Array): void {
    const day = Math.floor(minute / 1440);
    if (day !== this.day) {
      this.day = day;
      this.newDay();
    }
    const dt =
      Number.isNaN(this.lastMinute) || minute < this.lastMinute
        ? Number.POSITIVE_INFINITY
        : minute - this.lastMinute;
    this.lastMinute = minute;
    const lognormal = this.opts.model === "lognormal";
    const sigma = this.opts.pfVariation ?? (lognormal ? 0.4 : 0.3);
    const rho = lognormal ? 0 : Math.exp(-dt / (this.opts.pfCorrelationMinutes ?? 60));
    const loadSigma = this.opts.lognormalSigma ?? 0.35;
    const spec = 0.6 + 0.4 * Math.sin((2 * Math.PI * ((minute / 15) % 96)) / 96 - 1.5) ** 2;
    const innov = Math.sqrt(1 - rho * rho) * sigma;
    const lib = this.lib;
    const libStep = lib.stepMinutes;
    // Interval-mean data: sample at interval centres.
    const weekMult = sampleCyclic(this.week.series[0], this.week.stepMinutes, minute - 7.5) * this.weekNorm;
    const tod = minute - day * 1440;
    const pvPu =
      tod >= 360 && tod < 1080 ? sampleCyclic(this.pv.series[0], this.pv.stepMinutes, tod - 360 - 2.5) : 0;
    p.fill(0);
    q.fill(0);
    for (const m of this.buses) {
      let kw: number;
      let kvar = Number.NaN;
      if (m.userP) {
        kw = sampleCyclic(m.userP, this.userStep, minute);
        if (m.userQ) kvar = sampleCyclic(m.userQ, this.userStep, minute);
      } else if (m.pNom !== undefined) {
        kw = m.pNom * spec * Math.exp(loadSigma * this.rng.normal());
      } else {
        const hh = m.households!;
        let s = 0;
        for (let h = 0; h < hh.idx.length; h++)
          s +=
            hh.scale[h] * sampleCyclic(lib.series[hh.idx[h]], libStep, minute + hh.shift[h] - 0.5 * libStep);
        kw = s * weekMult * hh.busScale;
      }
      if (Number.isNaN(kvar)) {
        m.g = rho * m.g + innov * this.rng.normal();
        // The lognormal generator uses an uncorrected lognormal(0, σ); the household model keeps the mean tanφ.
        kvar = kw * m.tanPhi * (sigma > 0 ? Math.exp(lognormal ? m.g : m.g - 0.5 * sigma * sigma) : 1);
      }
      const mv = this.opts.minuteVariability ?? 0;
      if (mv > 0) {
        const rm = Number.isFinite(dt) ? Math.exp(-dt / (this.opts.minuteCorrelation ?? 3)) : 0;
        m.h = rm * (m.h ?? 0) + Math.sqrt(1 - rm * rm) * mv * this.rng.normal();
        const fm = Math.exp(m.h - 0.5 * mv * mv);
        kw *= fm;
        kvar *= fm;
      }
      const pv = m.pvKw > 0 ? m.pvKw * m.clear * Math.max(0, pvPu) : 0;
      p[m.bus] = (kw - pv) * this.toPu;
      q[m.bus] = kvar * this.toPu;
    }
  }
}
