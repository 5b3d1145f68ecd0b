import type { MeterSeries } from "../identify/meter-data.js";

/** Which reading of a meter: voltage magnitude, active or reactive power. */
export type Quantity = "v" | "p" | "q";

/** One reading flagged as a gross error. */
export interface BadReading {
  readonly bus: string;
  readonly quantity: Quantity;
  /** Sample (interval) index. */
  readonly sample: number;
  /** The reading as recorded (pu). */
  readonly value: number;
  /** What the test expected instead (pu): the local median, or the reading minus its estimated error. */
  readonly expected: number;
  /** Normalised residual (robust z-score) that triggered the flag. */
  readonly z: number;
  /** "spike": far from its own neighbours in time; "residual": largest normalised residual of the power-flow equations. */
  readonly test: "spike" | "residual";
  /** One line a person can read. */
  readonly reason: string;
}

/** A meter with an unusually large share of flagged readings (a systematic problem, not isolated spikes). */
export interface BadMeter {
  readonly bus: string;
  readonly flagged: number;
  readonly readings: number;
  readonly reason: string;
}

export interface BadDataReport {
  /** Readings flagged and left out (treated as missing). */
  readonly readings: readonly BadReading[];
  readonly meters: readonly BadMeter[];
  /** Readings that were missing in the input (not counted as bad). */
  readonly missing: number;
  /** Samples whose power-flow residuals failed the chi-squared test before screening, and after. */
  readonly chiSquaredFailed: { readonly before: number; readonly after: number };
  /** Stage 2: samples rejected by the residual test of the branch fits, summed over branches. */
  readonly branchRejections: number;
}

/** A copy of the series with the flagged readings set to NaN (missing). Inputs are never modified. */
export function withoutReadings(data: MeterSeries, flags: readonly BadReading[]): MeterSeries {
  if (flags.length === 0) return data;
  const index = new Map(data.busNames.map((b, j) => [b, j]));
  const copy = (a: readonly Float64Array[]) => a.map((s) => Float64Array.from(s));
  const vm = copy(data.vm);
  const p = copy(data.p);
  const q = copy(data.q);
  for (const f of flags) {
    const j = index.get(f.bus)!;
    (f.quantity === "v" ? vm : f.quantity === "p" ? p : q)[j]![f.sample] = Number.NaN;
  }
  return { busNames: data.busNames, root: data.root, samples: data.samples, vm, p, q };
}

/** Meters whose flagged share exceeds `share` (default 5 %) of their readings. */
export function badMeters(data: MeterSeries, flags: readonly BadReading[], share = 0.05): BadMeter[] {
  const count = new Map<string, number>();
  for (const f of flags) count.set(f.bus, (count.get(f.bus) ?? 0) + 1);
  const out: BadMeter[] = [];
  data.busNames.forEach((bus, j) => {
    const n = count.get(bus) ?? 0;
    if (n === 0) return;
    let readings = 0;
    for (const s of [data.vm[j]!, data.p[j]!, data.q[j]!])
      for (let t = 0; t < s.length; t++) if (!Number.isNaN(s[t]!)) readings++;
    if (n > share * readings)
      out.push({
        bus,
        flagged: n,
        readings,
        reason: `${n} of ${readings} readings (${((100 * n) / readings).toFixed(1)} %) flagged as gross errors: check this meter`,
      });
  });
  return out;
}
