/**
 * Smart-meter series as the identification consumes them: per bus, per sample, in per unit.
 * The substation (root) carries its measured voltage; missing readings are NaN.
 */
export interface MeterSeries {
  /** Bus names, index = bus index used everywhere below. */
  readonly busNames: readonly string[];
  /** Index of the substation bus. */
  readonly root: number;
  /** Number of samples T. */
  readonly samples: number;
  /** Voltage magnitude |V| (pu) per bus; the root's series is the substation voltage. */
  readonly vm: readonly Float64Array[];
  /** Active consumption (pu, positive = load) per bus. */
  readonly p: readonly Float64Array[];
  /** Reactive consumption (pu) per bus, net of shunt capacitors. */
  readonly q: readonly Float64Array[];
}

/** Invalid meter data (shape, units, too few samples). Names the bus or series at fault. */
export class MeterDataError extends Error {
  override readonly name = "MeterDataError";
}

export function checkMeterSeries(data: MeterSeries): void {
  const n = data.busNames.length;
  if (n < 2) throw new MeterDataError(`need at least 2 buses, got ${n}`);
  if (!(data.root >= 0 && data.root < n))
    throw new MeterDataError(`root index ${data.root} outside 0..${n - 1}`);
  for (const [name, arr] of [
    ["vm", data.vm],
    ["p", data.p],
    ["q", data.q],
  ] as const) {
    if (arr.length !== n) throw new MeterDataError(`${name} has ${arr.length} series for ${n} buses`);
    arr.forEach((s, i) => {
      if (s.length !== data.samples) {
        throw new MeterDataError(
          `${name} series of bus ${data.busNames[i]} has ${s.length} samples, expected ${data.samples}`,
        );
      }
    });
  }
  data.vm.forEach((s, i) => {
    for (let t = 0; t < s.length; t++) {
      const v = s[t]!;
      if (!Number.isNaN(v) && !(v > 0.5 && v < 1.5)) {
        throw new MeterDataError(`bus ${data.busNames[i]} sample ${t}: |V| = ${v} is not a per-unit voltage`);
      }
    }
  });
}

/** Fraction of NaN entries in a series. */
export function missingFraction(s: Float64Array): number {
  let m = 0;
  for (let t = 0; t < s.length; t++) if (Number.isNaN(s[t]!)) m++;
  return m / Math.max(1, s.length);
}

/**
 * Copy with NaNs filled by linear interpolation in time (nearest value at the ends).
 * Used for regressors; fitted outputs use the observed-sample mask instead.
 */
export function interpolateMissing(s: Float64Array): Float64Array {
  const out = Float64Array.from(s);
  const T = s.length;
  let prev = -1;
  for (let t = 0; t <= T; t++) {
    if (t < T && Number.isNaN(s[t]!)) continue;
    // Fill the gap (prev, t).
    if (t - prev > 1) {
      const a = prev >= 0 ? s[prev]! : t < T ? s[t]! : 0;
      const b = t < T ? s[t]! : a;
      for (let u = prev + 1; u < t; u++) out[u] = prev < 0 ? b : a + ((b - a) * (u - prev)) / (t - prev);
    }
    prev = t;
  }
  return out;
}
