import { buildFeeder, type Feeder } from "../feeder.js";

/**
 * The feeder as stage 1 can see it: branches with |z| ≤ minZPu (switches, e.g. the IEEE 13
 * 671–692 switch at 1e-4 Ω) are merged into their parent bus — loads and capacitors summed,
 * children re-attached — because no voltage measurement can tell the two ends apart (docs/identification.md).
 */
export function mergeNegligibleBranches(feeder: Feeder, minZPu = 2e-5): Feeder {
  const n = feeder.buses.length;
  const into = Int32Array.from({ length: n }, (_, j) => j);
  for (const br of feeder.branches) {
    if (Math.hypot(br.rPu, br.xPu) <= minZPu) into[br.to] = into[br.from]!;
  }
  // Parents precede children (BFS ids), so one forward pass resolves merge chains.
  for (let j = 0; j < n; j++) into[j] = into[into[j]!]!;
  if (into.every((v, j) => v === j)) return feeder;
  const load = feeder.buses.map((b) => ({ name: b.name, pKw: 0, qKvar: 0, shuntCapKvar: 0 }));
  for (const b of feeder.buses) {
    const t = load[into[b.id]!]!;
    t.pKw += b.pKw;
    t.qKvar += b.qKvar;
    t.shuntCapKvar += b.shuntCapKvar;
  }
  const kept = feeder.buses.filter((b) => into[b.id] === b.id);
  return buildFeeder({
    id: feeder.id,
    name: feeder.name,
    baseKvLl: feeder.baseKvLl,
    baseMva: feeder.baseMva,
    root: feeder.buses[0]!.name,
    rootVoltagePu: feeder.rootVoltagePu,
    ...(feeder.frequencyHz !== undefined ? { frequencyHz: feeder.frequencyHz } : {}),
    buses: kept.map((b) => load[b.id]!),
    branches: feeder.branches
      .filter((br) => into[br.to] === br.to)
      .map((br) => ({
        name: br.name,
        from: feeder.buses[into[br.from]!]!.name,
        to: feeder.buses[br.to]!.name,
        kind: br.kind,
        rOhm: br.rOhm,
        xOhm: br.xOhm,
        ...(br.lengthKm !== undefined ? { lengthKm: br.lengthKm } : {}),
        ...(br.conductor !== undefined ? { conductor: br.conductor } : {}),
      })),
    ...(feeder.source ? { source: feeder.source } : {}),
    notes: [
      ...feeder.notes,
      `merged ${n - kept.length} branch(es) with |z| <= ${minZPu} pu for identification`,
    ],
  });
}
