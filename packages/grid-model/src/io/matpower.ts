import { type BranchInput, type BusInput, buildFeeder, type Feeder, FeederError } from "../feeder.js";

/**
 * Reader for MATPOWER case files (`.m`) describing radial distribution feeders (case33bw, case69, case85,
 * case141, …). It is a data reader, not a MATLAB interpreter: it reads `mpc.baseMVA`, the `mpc.bus`,
 * `mpc.branch` and `mpc.gen` matrices (comments `%`, rows ended by `;` or a newline, `...` continuations,
 * commas or blanks between values) and recognises the two unit-conversion statements that MATPOWER's
 * distribution cases append (branch r/x given in ohm and divided by Vbase²/Sbase; loads given in kW and
 * divided by 1e3). Any other statement that modifies bus or branch data is rejected rather than ignored.
 */

export interface MatpowerMatrix {
  readonly rows: number[][];
  /** 1-based source line of each row, for error messages. */
  readonly lines: number[];
}

export interface MatpowerCase {
  readonly baseMVA: number;
  readonly bus: MatpowerMatrix;
  readonly branch: MatpowerMatrix;
  readonly gen?: MatpowerMatrix;
  /** Units after applying the recognised conversion statements. */
  readonly branchUnits: "pu" | "ohm";
  readonly loadUnits: "MW" | "kW";
  /** mpc.bus_name, one name per bus row, when the file has it. */
  readonly busNames?: readonly string[];
}

export interface MatpowerOptions {
  /** Used in messages and as the feeder id. */
  readonly file?: string;
  readonly id?: string;
}

const ERR = (file: string, line: number, msg: string) => new FeederError(`${file}:${line}: ${msg}`);

function stripComment(line: string): string {
  // `%` starts a comment outside single-quoted strings.
  let inStr = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") inStr = !inStr;
    else if (c === "%" && !inStr) return line.slice(0, i);
  }
  return line;
}

function parseNumber(tok: string): number {
  const t = tok.toLowerCase();
  if (t === "inf" || t === "+inf") return Number.POSITIVE_INFINITY;
  if (t === "-inf") return Number.NEGATIVE_INFINITY;
  if (t === "nan") return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number.NaN;
  return Number(t);
}

/** Tokenise the file into statements of `name = value` form and matrices. */
export function parseMatpowerCase(text: string, file = "<case.m>"): MatpowerCase {
  const lines = text.split(/\r?\n/);
  const matrices = new Map<string, MatpowerMatrix>();
  const scalars = new Map<string, number>();
  let branchUnits: "pu" | "ohm" = "pu";
  let loadUnits: "MW" | "kW" = "MW";
  let busNames: string[] | undefined;
  let i = 0;
  while (i < lines.length) {
    const lineNo = i + 1;
    let stmt = stripComment(lines[i]).trim();
    i++;
    if (stmt === "") continue;
    const cell = /^mpc\.bus_name\s*=\s*\{(.*)$/.exec(stmt);
    if (cell) {
      // A cell array of quoted names, possibly over several lines, closed by "}".
      let body = cell[1]!;
      while (!body.includes("}") && i < lines.length) body += `\n${lines[i++]}`;
      if (!body.includes("}")) throw ERR(file, lineNo, 'mpc.bus_name: cell array is not closed with "}"');
      busNames = [...body.slice(0, body.indexOf("}")).matchAll(/'((?:[^']|'')*)'/g)].map((m) =>
        m[1]!.replace(/''/g, "'"),
      );
      continue;
    }
    const open = /^mpc\.(\w+)\s*=\s*\[(.*)$/.exec(stmt);
    if (open) {
      const name = open[1];
      const rows: number[][] = [];
      const rowLines: number[] = [];
      let cur: number[] = [];
      let curLine = lineNo;
      let body = open[2];
      let bodyLine = lineNo;
      let closed = false;
      for (;;) {
        const close = body.indexOf("]");
        const part = close >= 0 ? body.slice(0, close) : body;
        // A line ending in `...` continues the current row; otherwise the newline ends it.
        const cont = /\.\.\.\s*$/.test(part);
        const segs = part.replace(/\.\.\.\s*$/, "").split(";");
        segs.forEach((seg, k) => {
          for (const tok of seg.split(/[\s,]+/).filter((s) => s !== "")) {
            const v = parseNumber(tok);
            if (Number.isNaN(v) && tok.toLowerCase() !== "nan")
              throw ERR(file, bodyLine, `mpc.${name}: "${tok}" is not a number`);
            if (cur.length === 0) curLine = bodyLine;
            cur.push(v);
          }
          const rowEnds = k < segs.length - 1 || (!cont && k === segs.length - 1);
          if (rowEnds && cur.length > 0) {
            rows.push(cur);
            rowLines.push(curLine);
            cur = [];
          }
        });
        if (close >= 0) {
          closed = true;
          break;
        }
        if (i >= lines.length) break;
        bodyLine = i + 1;
        body = stripComment(lines[i]);
        i++;
      }
      if (!closed) throw ERR(file, lineNo, `mpc.${name}: matrix is not closed with "]"`);
      const width = rows[0]?.length ?? 0;
      rows.forEach((r, k) => {
        if (r.length !== width)
          throw ERR(
            file,
            rowLines[k],
            `mpc.${name}: row has ${r.length} columns, the first row has ${width}`,
          );
      });
      matrices.set(name, { rows, lines: rowLines });
      continue;
    }
    // Join `...` continuations for plain statements.
    while (/\.\.\.\s*$/.test(stmt) && i < lines.length) {
      stmt = `${stmt.replace(/\.\.\.\s*$/, " ")}${stripComment(lines[i]).trim()}`;
      i++;
    }
    const scalar = /^mpc\.(\w+)\s*=\s*([^;']+);?$/.exec(stmt);
    if (scalar) {
      const v = parseNumber(scalar[2].trim());
      if (Number.isNaN(v)) throw ERR(file, lineNo, `mpc.${scalar[1]}: "${scalar[2].trim()}" is not a number`);
      scalars.set(scalar[1], v);
      continue;
    }
    const compact = stmt.replace(/\s+/g, "");
    if (
      /^mpc\.branch\(:,\[BR_RBR_X\]\)=mpc\.branch\(:,\[BR_RBR_X\]\)\/\(Vbase\^2\/Sbase\);?$/.test(compact)
    ) {
      branchUnits = "ohm";
      continue;
    }
    if (/^mpc\.bus\(:,\[PD,QD\]\)=mpc\.bus\(:,\[PD,QD\]\)\/1e3;?$/.test(compact)) {
      loadUnits = "kW";
      continue;
    }
    if (/^mpc\.(bus|branch|gen)\s*\(/.test(stmt))
      throw ERR(file, lineNo, `unsupported statement modifying case data: ${stmt.slice(0, 80)}`);
    // Everything else (function header, idx_bus/idx_brch, Vbase/Sbase, version string, gencost …) is ignored.
  }
  const baseMVA = scalars.get("baseMVA");
  if (baseMVA === undefined || !(baseMVA > 0))
    throw new FeederError(`${file}: mpc.baseMVA missing or not > 0`);
  const bus = matrices.get("bus");
  const branch = matrices.get("branch");
  if (!bus || bus.rows.length === 0) throw new FeederError(`${file}: mpc.bus matrix missing or empty`);
  if (!branch) throw new FeederError(`${file}: mpc.branch matrix missing`);
  if (bus.rows[0].length < 13)
    throw new FeederError(`${file}: mpc.bus needs 13 columns (got ${bus.rows[0].length})`);
  if (branch.rows.length > 0 && branch.rows[0].length < 11)
    throw new FeederError(`${file}: mpc.branch needs at least 11 columns (got ${branch.rows[0].length})`);
  const gen = matrices.get("gen");
  return {
    ...(busNames ? { busNames } : {}),
    baseMVA,
    bus,
    branch,
    ...(gen ? { gen } : {}),
    branchUnits,
    loadUnits,
  };
}

/**
 * Build a radial feeder from a MATPOWER case: root = the reference bus (type 3), base kV from its BASE_KV,
 * loads PD/QD, shunt BS (MVAr at 1 pu, positive = capacitive) as capacitor kvar; out-of-service branches
 * (status 0, e.g. open tie switches) and isolated buses (type 4) are skipped; in-service generators at other buses
 * are negative constant-power loads (PG, QG); line charging B and transformer taps are not modelled.
 */
export function parseMatpower(text: string, opts: MatpowerOptions = {}): Feeder {
  const file = opts.file ?? "<case.m>";
  const c = parseMatpowerCase(text, file);
  const refs = c.bus.rows.map((r, k) => ({ r, k })).filter(({ r }) => r[1] === 3);
  if (refs.length !== 1)
    throw new FeederError(
      `${file}: need exactly one reference bus (type 3) as the feeder root, found ${refs.length}${refs.length ? ` (buses ${refs.map(({ r }) => r[0]).join(", ")})` : ""}`,
    );
  const rootRow = refs[0].r;
  if (c.busNames && c.busNames.length !== c.bus.rows.length)
    throw new FeederError(
      `${file}: mpc.bus_name has ${c.busNames.length} names for ${c.bus.rows.length} buses`,
    );
  const nameOf = new Map(c.bus.rows.map((r, k) => [r[0], c.busNames?.[k] ?? String(r[0])]));
  const busName = (i: number) => nameOf.get(i) ?? String(i);
  const baseKv = rootRow[9];
  if (!(baseKv > 0)) throw ERR(file, c.bus.lines[refs[0].k], `root bus ${rootRow[0]}: BASE_KV must be > 0`);
  const loadScale = c.loadUnits === "kW" ? 1 : 1000; // → kW
  // Isolated buses (type 4) and the branches touching them are out of service.
  const isolated = new Set(c.bus.rows.filter((r) => r[1] === 4).map((r) => r[0]));
  // Generators at non-root buses (distributed generation) enter as negative constant-power loads (MW → kW).
  const dg = new Map<number, [number, number]>();
  let dgCount = 0;
  for (const g of c.gen?.rows ?? []) {
    if (g[0] === rootRow[0] || (g[7] ?? 1) <= 0 || isolated.has(g[0])) continue;
    const acc = dg.get(g[0]) ?? [0, 0];
    acc[0] += g[1] * 1000;
    acc[1] += g[2] * 1000;
    dg.set(g[0], acc);
    dgCount++;
  }
  const buses: BusInput[] = c.bus.rows.flatMap((r, k): BusInput[] => {
    if (r[1] === 4) return [];
    if (r[4] !== 0) throw ERR(file, c.bus.lines[k], `bus ${r[0]}: shunt conductance GS is not supported`);
    if (r[5] < 0) throw ERR(file, c.bus.lines[k], `bus ${r[0]}: inductive shunt BS < 0 is not supported`);
    if (r[9] !== baseKv && r[9] !== 0)
      throw ERR(
        file,
        c.bus.lines[k],
        `bus ${r[0]}: BASE_KV ${r[9]} differs from the root's ${baseKv} (one voltage level only)`,
      );
    const [gp, gq] = dg.get(r[0]) ?? [0, 0];
    return [
      {
        name: busName(r[0]),
        pKw: r[2] * loadScale - gp,
        qKvar: r[3] * loadScale - gq,
        shuntCapKvar: r[5] * 1000,
      },
    ];
  });
  const zBase = (baseKv * baseKv) / c.baseMVA;
  const branches: BranchInput[] = [];
  c.branch.rows.forEach((r, k) => {
    if (r[10] === 0 || isolated.has(r[0]) || isolated.has(r[1])) return;
    const name = `${busName(r[0])}-${busName(r[1])}`;
    const rOhm = c.branchUnits === "ohm" ? r[2] : r[2] * zBase;
    const xOhm = c.branchUnits === "ohm" ? r[3] : r[3] * zBase;
    if (!(rOhm >= 0 && xOhm >= 0 && rOhm + xOhm > 0))
      throw ERR(file, c.branch.lines[k], `branch ${name}: impedance must be positive (r=${r[2]}, x=${r[3]})`);
    const tap = r[8];
    branches.push({
      name,
      from: busName(r[0]),
      to: busName(r[1]),
      kind: tap !== 0 && tap !== 1 ? "transformer" : "line",
      rOhm,
      xOhm,
    });
  });
  const genRow = c.gen?.rows.find((g) => g[0] === rootRow[0] && (g[7] ?? 1) > 0);
  const v0 = genRow?.[5] ?? rootRow[7];
  const id = opts.id ?? file.replace(/^.*[\\/]/, "").replace(/\.m$/i, "");
  try {
    return buildFeeder({
      id,
      name: `${id} (MATPOWER case)`,
      baseKvLl: baseKv,
      baseMva: c.baseMVA,
      root: busName(rootRow[0]),
      rootVoltagePu: v0 > 0 ? v0 : 1,
      buses,
      branches,
      source: { description: `MATPOWER case file ${file}` },
      notes: [
        `Branch r/x read in ${c.branchUnits === "ohm" ? "ohm (MATPOWER v2 distribution-case convention)" : "pu"}; loads in ${c.loadUnits}.`,
        "Line charging B and transformer taps are not modelled; out-of-service branches and isolated buses skipped.",
        ...(dgCount > 0
          ? [`${dgCount} generator(s) at non-root buses entered as negative constant-power loads.`]
          : []),
        ...(isolated.size > 0 ? [`isolated buses dropped: ${[...isolated].join(", ")}`] : []),
      ],
    });
  } catch (e) {
    if (e instanceof FeederError) throw new FeederError(`${file}: ${e.message}`);
    throw e;
  }
}
