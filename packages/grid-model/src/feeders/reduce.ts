import { KM_PER_KFT, type PhaseLineCode, positiveSequencePerKm } from "../conductors/linecodes.js";
import {
  type BranchInput,
  buildFeeder,
  type Feeder,
  type FeederInput,
  type FeederSource,
} from "../feeder.js";

/**
 * Reduction of an unbalanced IEEE test feeder to its balanced positive-sequence equivalent:
 * lines get z1 = zs − zm per unit length of their line code × length; transformers keep their series
 * impedance referred to the feeder voltage; per-phase loads (wye or delta, any ZIP model) are summed to
 * three-phase constant-power totals; shunt capacitors keep their rated kvar.
 */

/** [name, from bus, to bus, line code id, length (ft)] */
export type LineRow = readonly [string, string, string, string, number];
/** [name, bus, phases, OpenDSS load model code, kW, kvar] — the source's per-phase load components. */
export type LoadRow = readonly [string, string, string, number, number, number];

/** A transformer of the source feeder, as a series impedance between its two buses. */
export interface TransformerRow {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly kva: number;
  /** Total winding resistance and leakage reactance in % on the transformer's own base. */
  readonly rPercent: number;
  readonly xPercent: number;
  readonly description: string;
}

export interface UnbalancedFeederData {
  readonly id: string;
  readonly name: string;
  readonly baseKvLl: number;
  readonly baseMva: number;
  readonly frequencyHz: number;
  readonly root: string;
  readonly buses: readonly string[];
  readonly lines: readonly LineRow[];
  readonly codes: readonly PhaseLineCode[];
  readonly transformers: readonly TransformerRow[];
  /** Closed switches: [name, from, to, r (Ω)]. */
  readonly switches: readonly (readonly [string, string, string, number])[];
  readonly loads: readonly LoadRow[];
  /** [bus, rated three-phase kvar] */
  readonly capacitors: readonly (readonly [string, number])[];
  readonly source: FeederSource;
  readonly notes: readonly string[];
}

export function reduceUnbalancedFeeder(d: UnbalancedFeederData): Feeder {
  const codes = new Map(d.codes.map((c) => [c.id, c]));
  const branches: BranchInput[] = [];
  for (const [name, from, to, codeId, lengthFt] of d.lines) {
    const lc = codes.get(codeId);
    if (!lc) throw new RangeError(`${d.id}: line ${name} uses unknown line code ${codeId}`);
    const z1 = positiveSequencePerKm(lc);
    const km = (lengthFt / 1000) * KM_PER_KFT;
    branches.push({
      name,
      from,
      to,
      kind: "line",
      rOhm: z1.r * km,
      xOhm: z1.x * km,
      lengthKm: km,
      conductor: codeId,
    });
  }
  for (const t of d.transformers) {
    // Own-base impedance (kV_feeder² / kVA) in ohm at the feeder voltage.
    const zOwn = (d.baseKvLl * d.baseKvLl * 1000) / t.kva;
    branches.push({
      name: t.name,
      from: t.from,
      to: t.to,
      kind: "transformer",
      rOhm: (t.rPercent / 100) * zOwn,
      xOhm: (t.xPercent / 100) * zOwn,
    });
  }
  for (const [name, from, to, r] of d.switches)
    branches.push({ name, from, to, kind: "switch", rOhm: r, xOhm: 0 });
  const pq = new Map<string, [number, number]>();
  for (const [, bus, , , kw, kvar] of d.loads) {
    const acc = pq.get(bus) ?? [0, 0];
    acc[0] += kw;
    acc[1] += kvar;
    pq.set(bus, acc);
  }
  const caps = new Map(d.capacitors);
  const input: FeederInput = {
    id: d.id,
    name: d.name,
    baseKvLl: d.baseKvLl,
    baseMva: d.baseMva,
    frequencyHz: d.frequencyHz,
    root: d.root,
    rootVoltagePu: 1,
    buses: d.buses.map((name) => ({
      name,
      pKw: pq.get(name)?.[0] ?? 0,
      qKvar: pq.get(name)?.[1] ?? 0,
      shuntCapKvar: caps.get(name) ?? 0,
    })),
    branches,
    source: d.source,
    notes: d.notes,
  };
  return buildFeeder(input);
}
