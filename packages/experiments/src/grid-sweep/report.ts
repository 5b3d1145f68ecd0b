/** The markdown report of the grid sweep: the sweep table, topology vs noise, samples to exact, library, LP solvers. */
import { type Cell, type Doc, median } from "./types.js";

/** What the simulation assumes, stated once at the top of the report. */
export const SIMULATION_ASSUMPTIONS =
  "Simulation: balanced positive-sequence feeders with constant-power (PQ) loads, every bus metered, and independent zero-mean Gaussian meter noise on |V|, P and Q; no unbalance, no voltage-dependent loads, no correlated or biased meter errors. Real feeders and meters violate each of these, so the numbers are the method's behaviour under these assumptions, not field accuracy.";

/** Topology-only noise sweep: default read-out vs its tree-metric start, mean over seeds. */
export function renderTopologySweep(cells: Cell[]): string[] {
  if (!cells.length) return [];
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = [c.feeder, c.vClass, c.pqClass, c.samples].join("|");
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const out = [
    "",
    `## Topology vs meter noise (default likelihood read-out, T = ${cells[0]!.samples}, 15-min means)`,
    "",
    "| feeder | v class % | pq class % | edges likelihood | exact | edges tree-metric (its start) | topology s (median) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const cs of groups.values()) {
    const c0 = cs[0]!;
    const m = (k: string) => cs.reduce((s, c) => s + (c.topology[k] ?? Number.NaN), 0) / cs.length;
    out.push(
      `| ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${m("likelihood").toFixed(3)} | ${cs.filter((c) => c.exactTree).length}/${cs.length} | ` +
        `${m("treeMetric").toFixed(3)} | ${median(cs.map((c) => c.seconds.topology ?? Number.NaN)).toFixed(1)} |`,
    );
  }
  return out;
}

/** Samples-to-exact-topology section: accuracy per T and the smallest T at which every seed is exact. */
export function renderExact(cells: Cell[]): string[] {
  if (!cells.length) return [];
  const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "–");
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = [c.feeder, c.vClass, c.pqClass].join("|");
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const out = [
    "",
    "## Samples to exact topology (default read-out, every bus metered, 15-min means)",
    "",
    "Each seed is one simulation at the largest T; smaller T are its first intervals, re-metered. Wrong = buses whose parent is wrong " +
      "(union over seeds, count of seeds in parentheses).",
    "",
    "| feeder | v class % | pq class % | T | edges likelihood | edges tree-metric | exact | edges up to contraction | exact up to contraction | wrong buses | topology s (median) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const summary: string[] = [];
  const criteria: string[] = [];
  for (const cs of groups.values()) {
    const c0 = cs[0]!;
    const sizes = [...new Set(cs.map((c) => c.samples))].sort((a, b) => a - b);
    // Smallest T from which on every seed is exact at every larger T of the plan too.
    const firstFrom = (ok: (c: Cell) => boolean): number | undefined => {
      let first: number | undefined;
      for (const T of [...sizes].reverse()) {
        if (cs.filter((c) => c.samples === T).every(ok)) first = T;
        else break;
      }
      return first;
    };
    const firstExact = firstFrom((c) => c.exactTree);
    const hasContracted = cs.every((c) => c.contracted);
    const firstContracted = hasContracted ? firstFrom((c) => c.contracted!.exactTree) : undefined;
    let lastContracted = Number.NaN;
    let lastAcc = Number.NaN;
    for (const T of sizes) {
      const at = cs.filter((c) => c.samples === T);
      const acc = at.reduce((s, c) => s + (c.topology.likelihood ?? Number.NaN), 0) / at.length;
      const tm = at.reduce((s, c) => s + (c.topology.treeMetric ?? Number.NaN), 0) / at.length;
      const exact = at.filter((c) => c.exactTree).length;
      lastAcc = acc;
      const cAcc = hasContracted
        ? at.reduce((s, c) => s + c.contracted!.edgeAccuracy, 0) / at.length
        : Number.NaN;
      lastContracted = cAcc;
      const cExact = hasContracted ? `${at.filter((c) => c.contracted!.exactTree).length}/${at.length}` : "–";
      const count = new Map<string, number>();
      for (const c of at) for (const b of c.wrongBuses ?? []) count.set(b, (count.get(b) ?? 0) + 1);
      const wrong = [...count].map(([b, k]) => `${b} (${k})`).join(", ") || "–";
      out.push(
        `| ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${T} | ${f3(acc)} | ${f3(tm)} | ${exact}/${at.length} | ${f3(cAcc)} | ${cExact} | ${wrong} | ` +
          `${median(at.map((c) => c.seconds.topology ?? Number.NaN)).toFixed(1)} |`,
      );
    }
    const tMax = sizes[sizes.length - 1];
    const contractedCol = !hasContracted
      ? "–"
      : firstContracted !== undefined
        ? String(firstContracted)
        : `> ${tMax} (edges ${f3(lastContracted)})`;
    summary.push(
      `| ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${firstExact !== undefined ? String(firstExact) : `> ${tMax} (edges ${f3(lastAcc)})`} | ${contractedCol} |`,
    );
    const crit = hasContracted
      ? `${c0.contracted!.criterion} (${c0.contracted!.contractedBranches} branches of ${c0.feeder})`
      : undefined;
    if (crit && !criteria.includes(crit)) criteria.push(crit);
  }
  out.push(
    "",
    "Samples to exact (smallest T in the plan from which on every seed recovers the exact tree, at that T and every larger one):",
    "",
    "| feeder | v class % | pq class % | T to exact | T to exact up to contraction |",
    "|---|---|---|---|---|",
    ...summary,
  );
  if (criteria.length)
    out.push(
      "",
      `"Up to contraction" = both trees compared after contracting the same weak branches, chosen from the true feeder by ${criteria.join("; ")} ` +
        "(the built-in ieee69-merged is that same reduction of the feeder; identification on it is the row ieee69-merged). " +
        "It is reported next to the plain exact tree, never instead of it.",
    );
  return out;
}

/** Aggregates cells (mean over seeds) into the markdown report. */
export function renderMarkdown(doc: Doc): string {
  const f2 = (v: number | null | undefined, d = 2) =>
    v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(d);
  const groups = new Map<string, Cell[]>();
  for (const c of doc.cells) {
    if (c.group === "exact" || c.group === "topology") continue;
    const k = [c.group, c.feeder, c.vClass, c.pqClass, c.samples, c.resolutionMin].join("|");
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const mean = (a: (number | null | undefined)[]) => {
    const v = a.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN;
  };
  const lines = [
    `# Grid identification experiment (${doc.name})`,
    "",
    `Command: \`${doc.command}\`, started ${doc.started}. Machine: ${String(doc.machine.cpu)}, ${String(doc.machine.cores)} cores, Node ${String(doc.machine.node)}, load average at start ${JSON.stringify(doc.machine.loadAverageAtStart)} (cores shared with other jobs).`,
    "",
    SIMULATION_ASSUMPTIONS,
    "",
    "Data: `simulateSmartMeters` (household profiles, AC sweep, 15-min means unless stated), every bus metered, junction buses given 2 % of the largest load; " +
      "meter classes as maximum error = 3σ (v = |V| class, pq = P/Q class). Topology = edge accuracy of the default read-out " +
      "(likelihood tree search from the loss-corrected tree metric; cells run before it existed show – there and used the tree metric), with the " +
      "tree metric alone, the paper-style Laplacian inversion and Var-MinST for comparison; exact = share of seeds with the exact tree of the default. " +
      "Impedance columns: median |z| error (%) over correctly recovered edges (LAD/HiGHS, LS) and, on the true tree, median r / x APE (%) (stage 2 alone). " +
      `Mean over seeds ${JSON.stringify(doc.seeds)}.`,
    "",
    "| group | feeder | v class % | pq class % | T | res (min) | edges likelihood | tree-metric | Laplacian | Var-MinST | exact | LAD med |z| % | LS med |z| % | true tree LAD med r / x % | true tree LS med r / x % | identify s (LAD) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const cs of groups.values()) {
    const c0 = cs[0]!;
    const tt = (k: "ladTrueTree" | "lsTrueTree") =>
      cs.some((c) => c[k])
        ? `${f2(mean(cs.map((c) => c[k]?.medianApeR)))} / ${f2(mean(cs.map((c) => c[k]?.medianApeX)))}`
        : "–";
    lines.push(
      `| ${c0.group} | ${c0.feeder} | ${c0.vClass} | ${c0.pqClass} | ${c0.samples} | ${c0.resolutionMin} | ` +
        `${f2(mean(cs.map((c) => c.topology.likelihood)), 3)} | ${f2(mean(cs.map((c) => c.topology.treeMetric)), 3)} | ${f2(mean(cs.map((c) => c.topology.laplacian)), 3)} | ` +
        `${f2(mean(cs.map((c) => c.topology.variance)), 3)} | ${cs.filter((c) => c.exactTree).length}/${cs.length} | ` +
        `${f2(mean(cs.map((c) => c.lad?.medianApeZ)))} | ${f2(mean(cs.map((c) => c.ls?.medianApeZ)))} | ${tt("ladTrueTree")} | ${tt("lsTrueTree")} | ` +
        `${f2(mean(cs.map((c) => c.seconds.identifyLad)), 1)} |`,
    );
  }
  lines.push(...renderTopologySweep(doc.cells.filter((c) => c.group === "topology")));
  lines.push(...renderExact(doc.cells.filter((c) => c.group === "exact")));
  const lib = doc.cells.filter((c) => c.library);
  if (lib.length) {
    lines.push(
      "",
      "## Conductor library (enumeration, LAD, true tree)",
      "",
      "| feeder | T | conductor accuracy | length MAPE % | med |z| % | med r / x % |",
      "|---|---|---|---|---|---|",
    );
    for (const c of lib)
      lines.push(
        `| ${c.feeder} | ${c.samples} | ${f2(c.library!.conductorAccuracy as number, 3)} | ${f2(c.library!.lengthMape as number)} | ${f2(c.library!.medianApeZ as number)} | ${f2(c.library!.medianApeR as number)} / ${f2(c.library!.medianApeX as number)} |`,
      );
  }
  if (doc.lp.length) {
    lines.push(
      "",
      "## LP solvers on the LAD branch problems (69-bus, v 0.1 % / pq 0.5 %)",
      "",
      "Per-branch LAD fit with the lifted w ≥ r² + x² relaxation (tangent cuts, re-solved until the cone holds, plus the repair passes). " +
        "dual = 3 rows × (T + cuts) bounded columns (simplex); primal = T rows (HiGHS with IPM, glpk.js simplex). Median wall time per branch fit; max relative LAD-loss difference to HiGHS/dual.",
      "",
      "| T | solver | form | branches | over limit | median ms / fit | LPs / fit | max rel. loss diff |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const r of doc.lp)
      lines.push(
        `| ${r.samples} | ${r.solver} | ${r.form} | ${r.branches} | ${r.failed} (${r.timeLimitS} s/LP) | ${f2(r.medianMs, 1)} | ${f2(r.meanLpPerFit, 1)} | ${r.maxRelLossDiff.toExponential(1)} |`,
      );
  }
  return `${lines.join("\n")}\n`;
}
