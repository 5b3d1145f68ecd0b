/**
 * Radial feeder model: buses, series branches, per-unit bases and the parent/child tree.
 *
 * Invariants of a built `Feeder` (established by `buildFeeder`, relied on everywhere):
 * - buses are numbered 0 … n−1 in breadth-first order from the root; the root is bus 0;
 * - branch k feeds bus k + 1 (`branches[k].to === k + 1`, `branches[k].from === parent[k + 1]`), so the
 *   DistFlow notation's "branch j is the branch into bus j" is `branches[j − 1]`;
 * - `parent[j] < j` for every non-root bus, so a reverse loop over bus ids visits leaves before parents.
 */

export type BranchKind = "line" | "transformer" | "switch" | "cable";

export interface Bus {
  /** 0 … n−1 in BFS order; root = 0. */
  readonly id: number;
  /** Name in the source data (e.g. "650", "65"). Unique. */
  readonly name: string;
  /** Three-phase constant-power consumption (positive = load). */
  readonly pKw: number;
  readonly qKvar: number;
  /** Rated three-phase shunt capacitor kvar at nominal voltage (constant impedance). */
  readonly shuntCapKvar: number;
}

export interface Branch {
  /** Index k; feeds bus k + 1. */
  readonly id: number;
  /** Parent bus id. */
  readonly from: number;
  /** Child bus id (= id + 1). */
  readonly to: number;
  readonly name: string;
  readonly kind: BranchKind;
  /** Positive-sequence series impedance of the whole branch. */
  readonly rOhm: number;
  readonly xOhm: number;
  /** Per-unit on the feeder's base MVA and base kV (z_base = kV² / MVA). */
  readonly rPu: number;
  readonly xPu: number;
  readonly lengthKm?: number;
  /** Line code / conductor type id, when known. */
  readonly conductor?: string;
}

export interface FeederSource {
  readonly description: string;
  readonly repo?: string;
  readonly commit?: string;
  readonly path?: string;
}

export interface Feeder {
  readonly id: string;
  readonly name: string;
  readonly baseKvLl: number;
  readonly baseMva: number;
  /** base_kv_ll² / base_mva. */
  readonly zBaseOhm: number;
  readonly rootVoltagePu: number;
  readonly frequencyHz?: number;
  readonly buses: readonly Bus[];
  readonly branches: readonly Branch[];
  /** parent[j] = π(j); parent[0] = −1. */
  readonly parent: Int32Array;
  /** children[j] = C(j), ascending. */
  readonly children: readonly (readonly number[])[];
  /** Depth from the root in branches (root 0). */
  readonly depth: Int32Array;
  readonly source?: FeederSource;
  readonly notes: readonly string[];
}

/** Invalid feeder data; the message names the feeder and the offending bus or branch. */
export class FeederError extends Error {
  override readonly name = "FeederError";
}

export interface BusInput {
  readonly name: string;
  readonly pKw?: number;
  readonly qKvar?: number;
  readonly shuntCapKvar?: number;
}

/** A branch between two bus names, in either orientation; impedance in ohm or in pu (one of the two). */
export interface BranchInput {
  readonly name?: string;
  readonly from: string;
  readonly to: string;
  readonly kind?: BranchKind;
  readonly rOhm?: number;
  readonly xOhm?: number;
  readonly rPu?: number;
  readonly xPu?: number;
  readonly lengthKm?: number;
  readonly conductor?: string;
}

export interface FeederInput {
  readonly id: string;
  readonly name?: string;
  readonly baseKvLl: number;
  readonly baseMva: number;
  /** Root (substation) bus name. */
  readonly root: string;
  readonly rootVoltagePu?: number;
  readonly frequencyHz?: number;
  readonly buses: readonly BusInput[];
  readonly branches: readonly BranchInput[];
  readonly source?: FeederSource;
  readonly notes?: readonly string[];
}

const KINDS: readonly BranchKind[] = ["line", "transformer", "switch", "cable"];

function finiteOr(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value))
    throw new FeederError(`${what} must be a finite number`);
  return value;
}

/**
 * Validate a feeder description and build the normalised radial model: one root, unique names, every branch
 * between existing buses, non-negative impedances with |z| > 0, connected and radial (n − 1 branches, no loop).
 */
export function buildFeeder(input: FeederInput): Feeder {
  const fid = `feeder "${input.id}"`;
  const baseKvLl = finiteOr(input.baseKvLl, Number.NaN, `${fid}: baseKvLl`);
  const baseMva = finiteOr(input.baseMva, Number.NaN, `${fid}: baseMva`);
  if (!(baseKvLl > 0)) throw new FeederError(`${fid}: baseKvLl must be > 0 (got ${input.baseKvLl})`);
  if (!(baseMva > 0)) throw new FeederError(`${fid}: baseMva must be > 0 (got ${input.baseMva})`);
  const rootVoltagePu = finiteOr(input.rootVoltagePu, 1, `${fid}: rootVoltagePu`);
  if (!(rootVoltagePu > 0)) throw new FeederError(`${fid}: rootVoltagePu must be > 0`);
  const zBaseOhm = (baseKvLl * baseKvLl) / baseMva;
  const nIn = input.buses.length;
  if (nIn < 2) throw new FeederError(`${fid}: needs at least 2 buses (got ${nIn})`);

  const index = new Map<string, number>();
  input.buses.forEach((b, i) => {
    const name = String(b.name);
    if (name === "" || b.name === undefined) throw new FeederError(`${fid}: bus #${i} has no name`);
    if (index.has(name)) throw new FeederError(`${fid}: duplicate bus "${name}"`);
    index.set(name, i);
  });
  const rootIn = index.get(String(input.root));
  if (rootIn === undefined) throw new FeederError(`${fid}: root bus "${input.root}" is not in the bus list`);

  // Undirected adjacency of the input; detect loops and disconnected buses while walking from the root.
  const adj: { bus: number; branch: number }[][] = Array.from({ length: nIn }, () => []);
  const branchNames = new Set<string>();
  const imp = input.branches.map((br, k) => {
    const bname = br.name ?? `${br.from}-${br.to}`;
    const bid = `${fid}: branch "${bname}" (${br.from} → ${br.to})`;
    if (branchNames.has(bname)) throw new FeederError(`${fid}: duplicate branch "${bname}"`);
    branchNames.add(bname);
    const a = index.get(String(br.from));
    const b = index.get(String(br.to));
    if (a === undefined) throw new FeederError(`${bid}: unknown bus "${br.from}"`);
    if (b === undefined) throw new FeederError(`${bid}: unknown bus "${br.to}"`);
    if (a === b) throw new FeederError(`${bid}: connects a bus to itself`);
    const kind = br.kind ?? "line";
    if (!KINDS.includes(kind)) throw new FeederError(`${bid}: unknown kind "${kind}"`);
    const hasOhm = br.rOhm !== undefined || br.xOhm !== undefined;
    const hasPu = br.rPu !== undefined || br.xPu !== undefined;
    if (hasOhm === hasPu)
      throw new FeederError(`${bid}: give the impedance either in ohm (rOhm, xOhm) or in pu`);
    const r = finiteOr(hasOhm ? br.rOhm : br.rPu, Number.NaN, `${bid}: r`);
    const x = finiteOr(hasOhm ? br.xOhm : br.xPu, Number.NaN, `${bid}: x`);
    if (!(r >= 0) || !(x >= 0))
      throw new FeederError(`${bid}: impedance must be non-negative (r=${r}, x=${x})`);
    if (!(r + x > 0)) throw new FeederError(`${bid}: impedance must be positive (r = x = 0)`);
    if (br.lengthKm !== undefined && !(Number.isFinite(br.lengthKm) && br.lengthKm > 0))
      throw new FeederError(`${bid}: lengthKm must be > 0`);
    adj[a].push({ bus: b, branch: k });
    adj[b].push({ bus: a, branch: k });
    return { name: bname, kind, rOhm: hasOhm ? r : r * zBaseOhm, xOhm: hasOhm ? x : x * zBaseOhm };
  });

  // BFS from the root gives the new numbering; a visited neighbour other than the parent closes a loop.
  const newId = new Int32Array(nIn).fill(-1);
  const viaBranch = new Int32Array(nIn).fill(-1);
  const order: number[] = [rootIn];
  newId[rootIn] = 0;
  for (let head = 0; head < order.length; head++) {
    const u = order[head];
    for (const { bus, branch } of adj[u]) {
      if (branch === viaBranch[u]) continue;
      if (newId[bus] >= 0) {
        const br = input.branches[branch];
        throw new FeederError(
          `${fid}: not radial — branch "${imp[branch].name}" (${br.from} → ${br.to}) closes a loop`,
        );
      }
      newId[bus] = order.length;
      viaBranch[bus] = branch;
      order.push(bus);
    }
  }
  if (order.length < nIn) {
    const missing = input.buses.filter((_, i) => newId[i] < 0).map((b) => `"${b.name}"`);
    throw new FeederError(
      `${fid}: not connected — ${missing.length} bus(es) unreachable from root "${input.root}": ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", …" : ""}`,
    );
  }

  const buses: Bus[] = order.map((old, id) => {
    const b = input.buses[old];
    const bid = `${fid}: bus "${b.name}"`;
    const shunt = finiteOr(b.shuntCapKvar, 0, `${bid}: shuntCapKvar`);
    if (shunt < 0) throw new FeederError(`${bid}: shuntCapKvar must be >= 0`);
    return {
      id,
      name: String(b.name),
      pKw: finiteOr(b.pKw, 0, `${bid}: pKw`),
      qKvar: finiteOr(b.qKvar, 0, `${bid}: qKvar`),
      shuntCapKvar: shunt,
    };
  });
  const n = nIn;
  const parent = new Int32Array(n).fill(-1);
  const depth = new Int32Array(n);
  const children: number[][] = Array.from({ length: n }, () => []);
  const branches: Branch[] = [];
  for (let id = 1; id < n; id++) {
    const old = order[id];
    const k = viaBranch[old];
    const br = input.branches[k];
    const pOld = index.get(String(br.from)) === old ? index.get(String(br.to))! : index.get(String(br.from))!;
    const p = newId[pOld];
    parent[id] = p;
    depth[id] = depth[p] + 1;
    children[p].push(id);
    const { name, kind, rOhm, xOhm } = imp[k];
    branches.push({
      id: id - 1,
      from: p,
      to: id,
      name,
      kind,
      rOhm,
      xOhm,
      rPu: rOhm / zBaseOhm,
      xPu: xOhm / zBaseOhm,
      ...(br.lengthKm !== undefined ? { lengthKm: br.lengthKm } : {}),
      ...(br.conductor !== undefined ? { conductor: br.conductor } : {}),
    });
  }
  return {
    id: input.id,
    name: input.name ?? input.id,
    baseKvLl,
    baseMva,
    zBaseOhm,
    rootVoltagePu,
    ...(input.frequencyHz !== undefined ? { frequencyHz: input.frequencyHz } : {}),
    buses,
    branches,
    parent,
    children,
    depth,
    ...(input.source ? { source: input.source } : {}),
    notes: input.notes ?? [],
  };
}

/** Bus id by source name; throws a FeederError naming the feeder when absent. */
export function busIndex(feeder: Feeder, name: string): number {
  const i = feeder.buses.findIndex((b) => b.name === name);
  if (i < 0) throw new FeederError(`feeder "${feeder.id}": no bus "${name}"`);
  return i;
}

/** Nominal loads in pu on the feeder's base MVA (positive = consumption). */
export function nominalLoadsPu(feeder: Feeder): { p: Float64Array; q: Float64Array; qCap: Float64Array } {
  const n = feeder.buses.length;
  const s = 1000 * feeder.baseMva;
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  const qCap = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    p[j] = feeder.buses[j].pKw / s;
    q[j] = feeder.buses[j].qKvar / s;
    qCap[j] = feeder.buses[j].shuntCapKvar / s;
  }
  return { p, q, qCap };
}

/** Branch resistances / reactances in pu indexed by the child bus (entry 0, the root, is 0). */
export function branchImpedancesPu(feeder: Feeder): { r: Float64Array; x: Float64Array } {
  const n = feeder.buses.length;
  const r = new Float64Array(n);
  const x = new Float64Array(n);
  for (const br of feeder.branches) {
    r[br.to] = br.rPu;
    x[br.to] = br.xPu;
  }
  return { r, x };
}
