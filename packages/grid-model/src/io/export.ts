import { buildFeeder, type Feeder, FeederError } from "../feeder.js";
import type { MeterSeries } from "../identify/meter-data.js";
import type { GridModel } from "../identify/pipeline.js";

/**
 * An identified model in the formats power engineers load: the package's feeder JSON (feederToJson), MATPOWER
 * case files and OpenDSS scripts. The model becomes a Feeder first (modelToFeeder); each writer prints numbers in
 * their shortest exact form, so reading the file back gives the same feeder (round-trip tested).
 */

export interface ModelToFeederOptions {
  readonly id?: string;
  readonly baseKvLl: number;
  readonly baseMva: number;
  /** Substation voltage (pu, default 1). */
  readonly rootVoltagePu?: number;
  /** Bus loads: the mean measured consumption of these series (default: no loads). */
  readonly loadsFrom?: MeterSeries;
  /**
   * Impedance given to branches that never carried flow (not identifiable, NaN in the model); without it such a
   * model cannot be exported and a FeederError names the branches.
   */
  readonly unidentified?: { readonly rPu: number; readonly xPu: number };
}

/** The branches ("from-to") without an identified impedance (they never carried flow): an export needs one for them. */
export function unidentifiedBranches(model: Pick<GridModel, "branches">): string[] {
  return model.branches
    .filter((b) => !(Number.isFinite(b.rPu) && Number.isFinite(b.xPu)))
    .map((b) => `${b.from}-${b.to}`);
}

/** The identified model as a radial Feeder (impedances in pu on the given base). */
export function modelToFeeder(model: GridModel, opts: ModelToFeederOptions): Feeder {
  const bad = unidentifiedBranches(model);
  if (bad.length && !opts.unidentified)
    throw new FeederError(
      `model: ${bad.length} branch(es) without an identified impedance (${bad.join(", ")}); pass unidentified: { rPu, xPu } to export them`,
    );
  const loads = new Map<string, { p: number; q: number }>();
  const d = opts.loadsFrom;
  if (d) {
    const mean = (s: Float64Array) => {
      let sum = 0;
      let n = 0;
      for (let t = 0; t < s.length; t++)
        if (!Number.isNaN(s[t]!)) {
          sum += s[t]!;
          n++;
        }
      return n ? sum / n : 0;
    };
    d.busNames.forEach((b, j) => {
      if (j !== d.root)
        loads.set(b, { p: mean(d.p[j]!) * 1000 * opts.baseMva, q: mean(d.q[j]!) * 1000 * opts.baseMva });
    });
  }
  // A fitted impedance at its bound (r or x = 0) stays 0; r = x = 0 becomes a tiny positive impedance below.
  const pos = (v: number) => Math.max(v, 0);
  return buildFeeder({
    id: opts.id ?? "identified",
    name: `identified from smart-meter data (${model.samples} samples)`,
    baseKvLl: opts.baseKvLl,
    baseMva: opts.baseMva,
    root: model.root,
    rootVoltagePu: opts.rootVoltagePu ?? 1,
    buses: model.buses.map((name) => ({
      name,
      pKw: loads.get(name)?.p ?? 0,
      qKvar: loads.get(name)?.q ?? 0,
    })),
    branches: model.branches.map((b) => {
      const ok = Number.isFinite(b.rPu) && Number.isFinite(b.xPu);
      let r = ok ? pos(b.rPu) : opts.unidentified!.rPu;
      let x = ok ? pos(b.xPu) : opts.unidentified!.xPu;
      if (r + x === 0) {
        r = 1e-9;
        x = 1e-9;
      }
      return {
        name: `${b.from}-${b.to}`,
        from: b.from,
        to: b.to,
        rPu: r,
        xPu: x,
        ...(b.conductor !== undefined ? { conductor: b.conductor } : {}),
        ...(b.lengthKm !== undefined ? { lengthKm: b.lengthKm } : {}),
      };
    }),
    notes: [`topology ${model.topology.method}, impedances ${model.impedance.method}`],
  });
}

const num = (v: number) => String(v);

/** MATPOWER case file (version 2, impedances in pu on baseMVA, loads in MW; bus names in mpc.bus_name). */
export function feederToMatpower(f: Feeder): string {
  const kv = f.baseKvLl;
  const fname = f.id.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([^A-Za-z])/, "c$1");
  const lines = [
    `function mpc = ${fname}`,
    `% ${f.name} — written by @x/grid-model`,
    "mpc.version = '2';",
    `mpc.baseMVA = ${num(f.baseMva)};`,
    "",
    "%% bus data",
    "%	bus_i	type	Pd	Qd	Gs	Bs	area	Vm	Va	baseKV	zone	Vmax	Vmin",
    "mpc.bus = [",
    ...f.buses.map(
      (b) =>
        `\t${b.id + 1}\t${b.id === 0 ? 3 : 1}\t${num(b.pKw / 1000)}\t${num(b.qKvar / 1000)}\t0\t${num(b.shuntCapKvar / 1000)}\t1\t${b.id === 0 ? num(f.rootVoltagePu) : 1}\t0\t${num(kv)}\t1\t1.1\t0.9;`,
    ),
    "];",
    "",
    "%% generator data (the substation)",
    "%	bus	Pg	Qg	Qmax	Qmin	Vg	mBase	status	Pmax	Pmin",
    "mpc.gen = [",
    `\t1\t0\t0\t999\t-999\t${num(f.rootVoltagePu)}\t${num(f.baseMva)}\t1\t999\t-999;`,
    "];",
    "",
    "%% branch data (r, x in pu on baseMVA and the bus baseKV)",
    "%	fbus	tbus	r	x	b	rateA	rateB	rateC	ratio	angle	status	angmin	angmax",
    "mpc.branch = [",
    ...f.branches.map(
      (br) =>
        `\t${br.from + 1}\t${br.to + 1}\t${num(br.rPu)}\t${num(br.xPu)}\t0\t0\t0\t0\t0\t0\t1\t-360\t360;`,
    ),
    "];",
    "",
    "%% bus names",
    "mpc.bus_name = {",
    ...f.buses.map((b) => `\t'${b.name.replace(/'/g, "''")}';`),
    "};",
    "",
  ];
  return lines.join("\n");
}

const DSS_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * OpenDSS script: a stiff three-phase source at the root, one Line per branch with its positive-sequence r1/x1
 * (and r0/x0 equal, a balanced equivalent) in ohm, loads and capacitors at nominal voltage. The base MVA, which
 * OpenDSS does not carry, is written as a comment the reader understands.
 */
export function feederToOpenDss(f: Feeder): string {
  for (const b of f.buses)
    if (!DSS_NAME.test(b.name))
      throw new FeederError(`bus name "${b.name}" cannot be an OpenDSS bus (letters, digits, _ and - only)`);
  const kv = num(f.baseKvLl);
  const root = f.buses[0]!.name;
  const lines = [
    `! ${f.name} — written by @x/grid-model`,
    `! x-grid: base_mva=${num(f.baseMva)}`,
    "Clear",
    `New Circuit.${f.id.replace(/[^A-Za-z0-9_-]/g, "_")} basekv=${kv} pu=${num(f.rootVoltagePu)} bus1=${root} phases=3 MVAsc3=1e9 MVAsc1=1e9`,
    ...f.branches.map((br) => {
      const a = f.buses[br.from]!.name;
      const b = f.buses[br.to]!.name;
      return `New Line.${a}_${b} bus1=${a} bus2=${b} phases=3 r1=${num(br.rOhm)} x1=${num(br.xOhm)} r0=${num(br.rOhm)} x0=${num(br.xOhm)} c1=0 c0=0 length=1 units=none`;
    }),
    ...f.buses
      .filter((b) => b.id !== 0 && (b.pKw !== 0 || b.qKvar !== 0))
      .map(
        (b) =>
          `New Load.${b.name} bus1=${b.name} phases=3 kV=${kv} kW=${num(b.pKw)} kvar=${num(b.qKvar)} model=1`,
      ),
    ...f.buses
      .filter((b) => b.shuntCapKvar > 0)
      .map((b) => `New Capacitor.${b.name} bus1=${b.name} phases=3 kV=${kv} kvar=${num(b.shuntCapKvar)}`),
    `Set voltagebases=[${kv}]`,
    "Calcvoltagebases",
    "",
  ];
  return lines.join("\n");
}

const LENGTH_KM: Record<string, number> = {
  none: 1,
  km: 1,
  m: 1e-3,
  ft: 0.0003048,
  kft: 0.3048,
  mi: 1.609344,
};

/**
 * Reads the subset of OpenDSS that feederToOpenDss writes (and simple hand-written balanced feeders): Clear,
 * New Circuit / Line (r1, x1 in ohm per unit length, length, units) / Load (kW, kvar) / Capacitor (kvar),
 * Set voltagebases, Calcvoltagebases, Solve, comments. Line codes, transformers and other elements are rejected
 * with file:line, not ignored.
 */
export function parseOpenDss(
  text: string,
  opts: { file?: string; baseMva?: number; id?: string } = {},
): Feeder {
  const file = opts.file ?? "<feeder.dss>";
  const err = (line: number, msg: string) => new FeederError(`${file}:${line}: ${msg}`);
  let baseMva = opts.baseMva;
  let circuit: { id: string; kv: number; pu: number; bus: string } | undefined;
  const lines: { name: string; from: string; to: string; rOhm: number; xOhm: number; lengthKm?: number }[] =
    [];
  const loads = new Map<string, { p: number; q: number; c: number }>();
  const busOf = (s: string) => s.split(".")[0]!;
  text.split(/\r?\n/).forEach((raw, k) => {
    const lineNo = k + 1;
    const meta = /^!\s*x-grid:\s*base_mva=([0-9.eE+-]+)/.exec(raw.trim());
    if (meta && baseMva === undefined) baseMva = Number(meta[1]);
    const stmt = raw.replace(/(!|\/\/).*$/, "").trim();
    if (stmt === "") return;
    const words = stmt.split(/\s+/);
    const verb = words[0]!.toLowerCase();
    if (["clear", "calcvoltagebases", "solve"].includes(verb)) return;
    if (verb === "set") return; // voltagebases and solution settings
    if (verb !== "new") throw err(lineNo, `unsupported command "${words[0]}"`);
    const [cls, name] = (words[1] ?? "").split(".") as [string, string | undefined];
    if (!name) throw err(lineNo, `"${words[1]}" is not Class.name`);
    const props = new Map<string, string>();
    for (const w of words.slice(2)) {
      const eq = w.indexOf("=");
      if (eq <= 0) throw err(lineNo, `"${w}" is not property=value`);
      props.set(w.slice(0, eq).toLowerCase(), w.slice(eq + 1));
    }
    const need = (p: string): number => {
      const v = props.get(p);
      const x = v === undefined ? Number.NaN : Number(v);
      if (!Number.isFinite(x)) throw err(lineNo, `${cls}.${name}: property ${p} missing or not a number`);
      return x;
    };
    switch (cls.toLowerCase()) {
      case "circuit":
        circuit = {
          id: name,
          kv: need("basekv"),
          pu: props.has("pu") ? need("pu") : 1,
          bus: busOf(props.get("bus1") ?? "sourcebus"),
        };
        return;
      case "line": {
        if (props.has("linecode"))
          throw err(lineNo, `Line.${name}: line codes are not supported (give r1 and x1)`);
        const units = (props.get("units") ?? "none").toLowerCase();
        const perKm = LENGTH_KM[units];
        if (perKm === undefined) throw err(lineNo, `Line.${name}: unknown units "${units}"`);
        const len = props.has("length") ? need("length") : 1;
        lines.push({
          name,
          from: busOf(props.get("bus1") ?? ""),
          to: busOf(props.get("bus2") ?? ""),
          rOhm: need("r1") * len,
          xOhm: need("x1") * len,
          ...(units !== "none" ? { lengthKm: len * perKm } : {}),
        });
        return;
      }
      case "load":
      case "capacitor": {
        const bus = busOf(props.get("bus1") ?? "");
        const l = loads.get(bus) ?? { p: 0, q: 0, c: 0 };
        if (cls.toLowerCase() === "load") {
          l.p += need("kw");
          l.q += props.has("kvar") ? need("kvar") : 0;
        } else l.c += need("kvar");
        loads.set(bus, l);
        return;
      }
      default:
        throw err(lineNo, `unsupported element class "${cls}"`);
    }
  });
  if (!circuit) throw new FeederError(`${file}: no "New Circuit" statement`);
  const names = new Set<string>([circuit.bus]);
  for (const l of lines) {
    names.add(l.from);
    names.add(l.to);
  }
  try {
    return buildFeeder({
      id: opts.id ?? circuit.id,
      name: `${circuit.id} (OpenDSS)`,
      baseKvLl: circuit.kv,
      baseMva: baseMva ?? 1,
      root: circuit.bus,
      rootVoltagePu: circuit.pu,
      buses: [...names].map((n) => ({
        name: n,
        pKw: loads.get(n)?.p ?? 0,
        qKvar: loads.get(n)?.q ?? 0,
        shuntCapKvar: loads.get(n)?.c ?? 0,
      })),
      branches: lines.map((l) => ({
        name: l.name,
        from: l.from,
        to: l.to,
        rOhm: l.rOhm,
        xOhm: l.xOhm,
        ...(l.lengthKm !== undefined ? { lengthKm: l.lengthKm } : {}),
      })),
      notes: baseMva === undefined ? ["base MVA not in the script: 1 MVA assumed"] : [],
    });
  } catch (e) {
    if (e instanceof FeederError) throw new FeederError(`${file}: ${e.message}`);
    throw e;
  }
}
