// Test data for the identification tests: the spec's §2.5 synthetic generator (lognormal loads
// around the nominal values, daily shape, per-bus varying power factor) driven through the
// package's own AC sweep or LinDistFlow. Not a second power flow: it only draws loads.
import { Rng } from "@x/tensor-core";
import type { MeterSeries } from "../src/identify/meter-data.js";
import {
  accuracyClassSigma,
  type Feeder,
  linDistFlow,
  nominalLoadsPu,
  RadialSweep,
  type SmartMeterData,
  simulateSmartMeters,
} from "../src/index.js";

export interface GenOptions {
  samples: number;
  seed?: number;
  model?: "ac" | "lindistflow";
  /** Relative Gaussian noise on |V| and on P/Q. */
  sigmaV?: number;
  sigmaPq?: number;
  /** Fraction of readings set to NaN, and of |V| readings given a gross error. */
  missing?: number;
  outliers?: number;
  /** Lognormal sigma of the per-sample power-factor variation (0 = constant, collinear P/Q). */
  pfVariation?: number;
}

export function generateMeterData(feeder: Feeder, o: GenOptions): MeterSeries {
  const rng = new Rng(o.seed ?? 1);
  const n = feeder.buses.length;
  const T = o.samples;
  const nom = nominalLoadsPu(feeder);
  const pmax = Math.max(...nom.p);
  const tan = new Float64Array(n);
  const pBase = new Float64Array(n);
  for (let j = 1; j < n; j++) {
    pBase[j] = nom.p[j]! > 0 ? nom.p[j]! : 0.02 * pmax;
    tan[j] = nom.p[j]! > 0 ? Math.min(1, Math.max(0.2, nom.q[j]! / nom.p[j]!)) : 0.5;
  }
  const vm = Array.from({ length: n }, () => new Float64Array(T));
  const p = Array.from({ length: n }, () => new Float64Array(T));
  const q = Array.from({ length: n }, () => new Float64Array(T));
  const sweep = new RadialSweep(feeder);
  const pt = new Float64Array(n);
  const qt = new Float64Array(n);
  for (let t = 0; t < T; t++) {
    const shape = 0.6 + 0.4 * Math.sin((2 * Math.PI * (t % 96)) / 96 - 1.5) ** 2;
    for (let j = 1; j < n; j++) {
      pt[j] = pBase[j]! * shape * Math.exp(rng.normal(0, 0.35));
      qt[j] = pt[j]! * tan[j]! * Math.exp(rng.normal(0, o.pfVariation ?? 0.4));
    }
    let v: ArrayLike<number>;
    if (o.model === "lindistflow") {
      const res = linDistFlow(feeder, pt, qt, 1);
      v = Array.from(res.v, Math.sqrt);
    } else {
      v = sweep.solve({ p: pt, q: qt }, { v0: 1 }).vm;
    }
    for (let j = 0; j < n; j++) {
      vm[j]![t] = v[j]! * (1 + (o.sigmaV ?? 0) * rng.normal());
      p[j]![t] = pt[j]! * (1 + (o.sigmaPq ?? 0) * rng.normal());
      q[j]![t] = qt[j]! * (1 + (o.sigmaPq ?? 0) * rng.normal());
    }
  }
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < T; t++) {
      if (o.outliers && j > 0 && rng.uniform() < o.outliers)
        vm[j]![t] = vm[j]![t]! * (1 + (rng.uniform() < 0.5 ? -0.05 : 0.05));
      if (o.missing && j > 0) {
        if (rng.uniform() < o.missing) vm[j]![t] = Number.NaN;
        if (rng.uniform() < o.missing) p[j]![t] = Number.NaN;
        if (rng.uniform() < o.missing) q[j]![t] = Number.NaN;
      }
    }
  }
  return { busNames: feeder.buses.map((b) => b.name), root: 0, samples: T, vm, p, q };
}

/**
 * Simulated meter data with zero-injection junctions (no synthetic junction load) metered for |V|: P = Q = 0 at
 * every unloaded bus; 0.1 %-class voltage and 0.5 %-class power meters, as in the realism benchmark.
 */
export function zeroInjectionMeterData(
  feeder: Feeder,
  seed: number,
  samples = 1440,
  meters: "all" | "load" = "all",
): SmartMeterData {
  return simulateSmartMeters(feeder, {
    samples,
    seed,
    meters,
    junctionLoad: 0,
    voltageSigma: accuracyClassSigma(0.1),
    powerSigma: accuracyClassSigma(0.5),
  });
}
