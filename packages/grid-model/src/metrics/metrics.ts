import type { Feeder } from "../feeder.js";

/** One identified branch, by bus names (orientation parent → child). */
export interface IdentifiedBranch {
  readonly from: string;
  readonly to: string;
  /** Per unit on the feeder base. */
  readonly rPu: number;
  readonly xPu: number;
  readonly conductor?: string;
  /** Library ids indistinguishable from `conductor` (same R/X). */
  readonly ties?: readonly string[];
  readonly lengthKm?: number;
}

export interface IdentificationMetrics {
  /** |Ê ∩ E| / |E| (= precision = recall for spanning trees on the same buses). */
  readonly edgeAccuracy: number;
  readonly exactTree: boolean;
  readonly edges: number;
  readonly correctEdges: number;
  /** Correct edges whose impedance was not identifiable (no flow, non-finite estimate); excluded below. */
  readonly unidentified: number;
  /** Impedance errors over the correctly recovered, identifiable edges (percent). */
  readonly mapeR: number;
  readonly mapeX: number;
  readonly medianApeR: number;
  readonly medianApeX: number;
  /** Median relative error of |z|. */
  readonly medianApeZ: number;
  /** Share of correctly recovered edges within 5 % / 10 % |z| error. */
  readonly within5: number;
  readonly within10: number;
  /** Conductor-type accuracy over edges with a known true conductor (a tie counts as a match); null without library. */
  readonly conductorAccuracy: number | null;
  readonly lengthMape: number | null;
  /** Estimated edges that are not edges of the (reduced) true tree. */
  readonly wrongEdges: readonly { readonly from: string; readonly to: string }[];
  /** True edges the estimate does not have. */
  readonly missedEdges: readonly { readonly from: string; readonly to: string }[];
  /** Correctly recovered edges with the largest |z| errors (worst first, at most `worst`). */
  readonly worstBranches: readonly BranchError[];
}

/** Impedance error of one correctly recovered branch. */
export interface BranchError {
  readonly from: string;
  readonly to: string;
  /** Percent errors. */
  readonly apeZ: number;
  readonly apeR: number;
  readonly apeX: number;
  readonly rPu: number;
  readonly xPu: number;
  readonly trueRPu: number;
  readonly trueXPu: number;
}

export class MetricsError extends Error {
  override readonly name = "MetricsError";
}

function median(a: number[]): number {
  if (a.length === 0) return Number.NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : Number.NaN);

export interface EvaluateOptions {
  /**
   * True branches with |z| at or below this (pu) are switches: their two buses count as one node
   * on both sides (no measurement can separate them). Default 2e-5 (the IEEE 13 switch).
   */
  readonly mergeBelowPu?: number;
  /** How many worst branches to list (default 5). */
  readonly worst?: number;
}

interface TruthBranch {
  from: string;
  to: string;
  rPu: number;
  xPu: number;
  conductor?: string;
  lengthKm?: number;
}

/**
 * The truth as the identification can see it: switch buses merged into their parent, and
 * buses absent from the model (unmetered, hidden) skipped — each remaining bus hangs from its
 * nearest present ancestor with the path impedance (exact for unloaded series junctions).
 */
function reduceTruth(
  truth: Feeder,
  branches: readonly IdentifiedBranch[],
  mergeBelowPu: number,
): { rep: Map<string, string>; branches: TruthBranch[] } {
  const n = truth.buses.length;
  const into = Int32Array.from({ length: n }, (_, j) => j);
  for (const br of truth.branches)
    if (Math.hypot(br.rPu, br.xPu) <= mergeBelowPu) into[br.to] = into[br.from]!;
  for (let j = 0; j < n; j++) into[j] = into[into[j]!]!;
  const rep = new Map(truth.buses.map((b) => [b.name, truth.buses[into[b.id]!]!.name]));
  const present = new Uint8Array(n);
  present[0] = 1;
  const byName = new Map(truth.buses.map((b) => [b.name, b.id]));
  for (const b of branches) for (const nm of [b.from, b.to]) present[into[byName.get(nm)!]!] = 1;
  const out: TruthBranch[] = [];
  const branchInto = new Map(truth.branches.map((br) => [br.to, br]));
  for (let j = 1; j < n; j++) {
    if (into[j] !== j || !present[j]) continue;
    let r = 0;
    let x = 0;
    let u = j;
    const first = branchInto.get(j)!;
    // Walk up to the nearest present representative.
    for (;;) {
      const br = branchInto.get(u)!;
      r += br.rPu;
      x += br.xPu;
      u = into[br.from]!;
      if (present[u]) break;
    }
    const single = truth.parent[j] === u || into[truth.parent[j]!] === u;
    out.push({
      from: truth.buses[u]!.name,
      to: truth.buses[j]!.name,
      rPu: r,
      xPu: x,
      ...(single && first.conductor !== undefined ? { conductor: first.conductor } : {}),
      ...(single && first.lengthKm !== undefined ? { lengthKm: first.lengthKm } : {}),
    });
  }
  return { rep, branches: out };
}

/**
 * Conductor ids compared without the library's family prefix ("ieee-721" = feeder line code
 * "721") and the IEEE 13 matrix prefix ("mtx601" = configuration 601).
 */
export function conductorKey(id: string): string {
  return id.replace(/^(ieee13-|ieee-|pandapower-|pp-)/, "").replace(/^mtx/, "");
}

/** Undirected edge key of two bus names. */
function key(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/** Names of inserted hidden junctions the data could not name (identifyGrid): "hidden-" and a number. */
export const HIDDEN_JUNCTION_NAME = /^hidden-\d+$/;

/**
 * Gives the unnamed hidden junctions of an estimate ("hidden-1", …, not names of the true feeder) the names of true buses
 * the estimate leaves out, matched by the split they make: the set of estimated buses below each (Jaccard overlap,
 * best pairs first). Branches without such names are returned as they are.
 */
export function nameHiddenJunctions(
  truth: Feeder,
  branches: readonly IdentifiedBranch[],
): readonly IdentifiedBranch[] {
  const trueNames = new Set(truth.buses.map((b) => b.name));
  const placeholders = new Set<string>();
  for (const b of branches)
    for (const n of [b.from, b.to])
      if (!trueNames.has(n) && HIDDEN_JUNCTION_NAME.test(n)) placeholders.add(n);
  if (placeholders.size === 0) return branches;
  const present = new Set<string>();
  for (const b of branches) for (const n of [b.from, b.to]) if (trueNames.has(n)) present.add(n);
  const kids = new Map<string, string[]>();
  const add = (from: string, to: string) => {
    const k = kids.get(from);
    if (k) k.push(to);
    else kids.set(from, [to]);
  };
  for (const b of branches) add(b.from, b.to);
  const below = (u: string, children: Map<string, string[]>) => {
    const out = new Set<string>();
    const stack = [...(children.get(u) ?? [])];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (present.has(v)) out.add(v);
      stack.push(...(children.get(v) ?? []));
    }
    return out;
  };
  const trueKids = new Map<string, string[]>();
  for (const br of truth.branches) {
    const from = truth.buses[br.from]!.name;
    const list = trueKids.get(from);
    if (list) list.push(truth.buses[br.to]!.name);
    else trueKids.set(from, [truth.buses[br.to]!.name]);
  }
  const absent = truth.buses.filter((b) => b.id !== 0 && !present.has(b.name)).map((b) => b.name);
  const pairs: { h: string; u: string; overlap: number }[] = [];
  for (const h of placeholders) {
    const a = below(h, kids);
    for (const u of absent) {
      const b = below(u, trueKids);
      let inter = 0;
      for (const v of a) if (b.has(v)) inter++;
      const union = a.size + b.size - inter;
      pairs.push({ h, u, overlap: union > 0 ? inter / union : 0 });
    }
  }
  pairs.sort((x, y) => y.overlap - x.overlap || (x.h < y.h ? -1 : x.h > y.h ? 1 : x.u < y.u ? -1 : 1));
  const name = new Map<string, string>();
  const used = new Set<string>();
  for (const p of pairs) {
    if (name.has(p.h) || used.has(p.u)) continue;
    name.set(p.h, p.u);
    used.add(p.u);
  }
  for (const h of placeholders)
    if (!name.has(h))
      throw new MetricsError(
        `hidden junction "${h}" cannot be matched: feeder "${truth.id}" has no further bus left out of the estimate`,
      );
  return branches.map((b) => ({ ...b, from: name.get(b.from) ?? b.from, to: name.get(b.to) ?? b.to }));
}

/**
 * Metrics of an identified model against the true feeder; buses are matched by name (unnamed hidden junctions by
 * `nameHiddenJunctions`).
 * Impedance errors are computed over the correctly recovered edges only (their count is
 * `correctEdges`); MAPE is dominated by very short branches, hence the medians.
 */
export function evaluateIdentification(
  truth: Feeder,
  branches: readonly IdentifiedBranch[],
  opts: EvaluateOptions = {},
): IdentificationMetrics {
  branches = nameHiddenJunctions(truth, branches);
  const names = new Set(truth.buses.map((b) => b.name));
  for (const b of branches) {
    for (const n of [b.from, b.to])
      if (!names.has(n))
        throw new MetricsError(`identified branch refers to bus "${n}" not in feeder "${truth.id}"`);
  }
  const reduced = reduceTruth(truth, branches, opts.mergeBelowPu ?? 2e-5);
  const est = new Map<string, IdentifiedBranch>();
  for (const b of branches) {
    const from = reduced.rep.get(b.from)!;
    const to = reduced.rep.get(b.to)!;
    if (from !== to) est.set(key(from, to), { ...b, from, to });
  }
  let correct = 0;
  const apeR: number[] = [];
  const apeX: number[] = [];
  const apeZ: number[] = [];
  const apeL: number[] = [];
  let condKnown = 0;
  let condOk = 0;
  let anyConductor = false;
  let unidentified = 0;
  const trueKeys = new Set(reduced.branches.map((b) => key(b.from, b.to)));
  const missedEdges: { from: string; to: string }[] = [];
  const branchErrors: BranchError[] = [];
  for (const br of reduced.branches) {
    const { from, to } = br;
    const e = est.get(key(from, to));
    if (!e) {
      missedEdges.push({ from, to });
      continue;
    }
    correct++;
    if (!Number.isFinite(e.rPu) || !Number.isFinite(e.xPu)) {
      unidentified++;
      continue;
    }
    apeR.push((100 * Math.abs(e.rPu - br.rPu)) / br.rPu);
    apeX.push((100 * Math.abs(e.xPu - br.xPu)) / br.xPu);
    const zt = Math.hypot(br.rPu, br.xPu);
    apeZ.push((100 * Math.abs(Math.hypot(e.rPu, e.xPu) - zt)) / zt);
    branchErrors.push({
      from: e.from,
      to: e.to,
      apeZ: apeZ[apeZ.length - 1]!,
      apeR: apeR[apeR.length - 1]!,
      apeX: apeX[apeX.length - 1]!,
      rPu: e.rPu,
      xPu: e.xPu,
      trueRPu: br.rPu,
      trueXPu: br.xPu,
    });
    if (e.conductor !== undefined) anyConductor = true;
    if (e.conductor !== undefined && br.conductor !== undefined) {
      condKnown++;
      const want = conductorKey(br.conductor);
      if ([e.conductor, ...(e.ties ?? [])].some((c) => conductorKey(c) === want)) condOk++;
    }
    if (e.lengthKm !== undefined && br.lengthKm !== undefined)
      apeL.push((100 * Math.abs(e.lengthKm - br.lengthKm)) / br.lengthKm);
  }
  const edges = reduced.branches.length;
  const finite = (a: number[]) => a.filter(Number.isFinite);
  return {
    edgeAccuracy: correct / edges,
    exactTree: correct === edges && est.size === edges,
    edges,
    correctEdges: correct,
    unidentified,
    mapeR: mean(finite(apeR)),
    mapeX: mean(finite(apeX)),
    medianApeR: median(finite(apeR)),
    medianApeX: median(finite(apeX)),
    medianApeZ: median(apeZ),
    within5: apeZ.length ? apeZ.filter((v) => v <= 5).length / apeZ.length : 0,
    within10: apeZ.length ? apeZ.filter((v) => v <= 10).length / apeZ.length : 0,
    conductorAccuracy: anyConductor && condKnown > 0 ? condOk / condKnown : null,
    lengthMape: apeL.length ? mean(apeL) : null,
    wrongEdges: [...est.values()]
      .filter((e) => !trueKeys.has(key(e.from, e.to)))
      .map((e) => ({ from: e.from, to: e.to })),
    missedEdges,
    worstBranches: branchErrors
      .filter((b) => Number.isFinite(b.apeZ))
      .sort((a, b) => b.apeZ - a.apeZ)
      .slice(0, opts.worst ?? 5),
  };
}
