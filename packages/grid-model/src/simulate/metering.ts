import type { Rng } from "@x/tensor-core";

/**
 * Metering errors: multiplicative Gaussian noise by accuracy class, register quantisation,
 * gross outliers and missing readings. Applied to one reading at a time; no allocation.
 */

export interface MeteringOptions {
  /** Relative σ of voltage-magnitude readings (e.g. accuracyClassSigma(0.1) for a 0.1 % class). Default 0. */
  readonly voltageSigma?: number;
  /** Relative σ of active / reactive power readings. Default 0. */
  readonly powerSigma?: number;
  /** Voltage register step in pu (e.g. 0.1 V / 230 V); 0 = none. */
  readonly voltageStepPu?: number;
  /** Energy register step in Wh per interval (P and Q alike); 0 = none. */
  readonly energyStepWh?: number;
  /** Long-run fraction of a meter's interval records (|V|, P, Q together) that are missing. */
  readonly missing?: number;
  /** Probability that a single reading is a gross error: |V| × (1 ± 2–10 %), P/Q × (1 ± 20–100 %). */
  readonly outliers?: number;
  /**
   * Gross errors of a fixed size: each reading independently with probability `rate` is multiplied by
   * `powerFactor` (P, Q; default 10, e.g. a unit or decimal-point slip) or `voltageFactor` (|V|; default 1.2).
   */
  readonly grossErrors?: {
    readonly rate: number;
    readonly powerFactor?: number;
    readonly voltageFactor?: number;
  };
}

/** Accuracy class c % (maximum error ≈ 3σ) → relative σ = c / 300. */
export function accuracyClassSigma(classPercent: number): number {
  return classPercent / 300;
}

/** Round to the nearest multiple of step (no-op for step ≤ 0). */
export function quantize(value: number, step: number): number {
  return step > 0 ? Math.round(value / step) * step : value;
}

export class Meter {
  readonly voltageSigma: number;
  readonly powerSigma: number;
  readonly voltageStepPu: number;
  readonly energyStepWh: number;
  readonly missing: number;
  readonly outliers: number;
  readonly grossRate: number;
  readonly grossPower: number;
  readonly grossVoltage: number;

  constructor(
    private readonly rng: Rng,
    opts: MeteringOptions = {},
  ) {
    this.voltageSigma = opts.voltageSigma ?? 0;
    this.powerSigma = opts.powerSigma ?? 0;
    this.voltageStepPu = opts.voltageStepPu ?? 0;
    this.energyStepWh = opts.energyStepWh ?? 0;
    this.missing = opts.missing ?? 0;
    this.outliers = opts.outliers ?? 0;
    this.grossRate = opts.grossErrors?.rate ?? 0;
    this.grossPower = opts.grossErrors?.powerFactor ?? 10;
    this.grossVoltage = opts.grossErrors?.voltageFactor ?? 1.2;
    for (const [k, v] of Object.entries(this)) {
      if (typeof v === "number" && !(v >= 0 && Number.isFinite(v)))
        throw new RangeError(`metering option ${k} must be a finite number >= 0 (got ${v})`);
    }
    if (this.missing >= 1 || this.outliers >= 1 || this.grossRate >= 1)
      throw new RangeError("missing, outlier and gross-error rates must be < 1");
  }

  /** A voltage reading (pu): noise, occasional gross error (±2–10 %), register quantisation. */
  voltage(v: number): number {
    let m = this.voltageSigma > 0 ? v * (1 + this.voltageSigma * this.rng.normal()) : v;
    if (this.outliers > 0 && this.rng.uniform() < this.outliers)
      m *= 1 + this.sign() * this.rng.uniformIn(0.02, 0.1);
    if (this.grossRate > 0 && this.rng.uniform() < this.grossRate) m *= this.grossVoltage;
    return quantize(m, this.voltageStepPu);
  }

  /**
   * A power reading: `value` in pu, `kwPerPu` converts to kW, `intervalHours` sets the energy register step in
   * power units. Noise, occasional gross error (±20–100 %), quantisation.
   */
  power(value: number, kwPerPu: number, intervalHours: number): number {
    let m = this.powerSigma > 0 ? value * (1 + this.powerSigma * this.rng.normal()) : value;
    if (this.outliers > 0 && this.rng.uniform() < this.outliers)
      m *= 1 + this.sign() * this.rng.uniformIn(0.2, 1);
    if (this.grossRate > 0 && this.rng.uniform() < this.grossRate) m *= this.grossPower;
    if (this.energyStepWh > 0) {
      const stepPu = this.energyStepWh / 1000 / intervalHours / kwPerPu;
      m = quantize(m, stepPu);
    }
    return m;
  }

  private sign(): number {
    return this.rng.uniform() < 0.5 ? -1 : 1;
  }
}
