// Independent reader of the page's number attributes: resolves `data-json` pointers in the JSON file,
// combines them as `data-agg` says, and formats as `data-format` says. Written apart from the page's
// own code on purpose, so that a test compares the page against the files, not against itself.

export interface NumAttrs {
  value: string;
  format: string;
  file?: string | null;
  json?: string | null;
  agg?: string | null;
  text: string;
}

function unescapePointer(seg: string): string {
  return seg.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** Values one pointer selects (a `*` segment expands arrays; a pointer to an array selects its elements). */
export function select(doc: unknown, ptr: string): unknown[] {
  if (!ptr.startsWith("/")) throw new Error(`bad pointer ${ptr}`);
  let current: unknown[] = [doc];
  for (const raw of ptr.slice(1).split("/")) {
    const next: unknown[] = [];
    for (const node of current) {
      if (raw === "*") {
        if (!Array.isArray(node)) throw new Error(`${ptr}: * applied to a non-array`);
        next.push(...node);
      } else {
        const key = unescapePointer(raw);
        const child = (node as Record<string, unknown>)?.[key];
        if (child === undefined) throw new Error(`${ptr}: no key ${key}`);
        next.push(child);
      }
    }
    current = next;
  }
  return current.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const sampleStd = (a: number[]) => {
  if (a.length < 2) return 0;
  const m = mean(a);
  return Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1));
};

/** The number the attributes say the page shows, computed from the JSON document. */
export function expectedValue(doc: unknown, json: string, agg: string): number {
  const groups = json.split(" ").map((p) => select(doc, p));
  const flat = groups.flat();
  switch (agg) {
    case "one":
      if (flat.length !== 1) throw new Error(`${json}: ${flat.length} values for agg one`);
      return flat[0] as number;
    case "mean":
      return mean(flat as number[]);
    case "std":
      return sampleStd(flat as number[]);
    case "stdOfMeans":
      return sampleStd(groups.map((g) => mean(g as number[])));
    case "meanOfDiffs": {
      const k = flat.length / 2;
      const a = flat as number[];
      return mean(a.slice(0, k).map((x, i) => x - a[k + i]));
    }
    case "countTrue":
      return flat.filter((x) => x === true).length;
    case "count":
      return flat.length;
    default:
      throw new Error(`unknown agg ${agg}`);
  }
}

export function expectedText(value: number, format: string): string {
  switch (format) {
    case "pct1":
      return (value * 100).toFixed(1);
    case "pp2":
      return (value * 100).toFixed(2);
    case "pct2":
      return value.toFixed(2);
    case "fix3":
      return value.toFixed(3);
    case "int":
      return String(Math.round(value));
    case "raw":
      return String(value);
    case "sci2": {
      const [m, e] = value.toExponential(2).split("e");
      return `${m}e${Number(e)}`;
    }
    default:
      throw new Error(`unknown format ${format}`);
  }
}

/** Problems of one shown number, empty when it matches its JSON. */
export function checkNum(n: NumAttrs, docs: Record<string, unknown>): string[] {
  if (!n.json) return [];
  const where = `${n.file} ${n.json} (${n.agg})`;
  const doc = docs[n.file ?? ""];
  if (doc === undefined) return [`${where}: file not loaded by the test`];
  let expected: number;
  try {
    expected = expectedValue(doc, n.json, n.agg ?? "one");
  } catch (e) {
    return [`${where}: ${(e as Error).message}`];
  }
  const shown = Number(n.value);
  const out: string[] = [];
  if (!(Math.abs(shown - expected) <= 1e-12 * Math.max(1, Math.abs(expected))))
    out.push(`${where}: data-value ${n.value}, JSON gives ${expected}`);
  const text = expectedText(expected, n.format);
  if (n.text !== text) out.push(`${where}: shows "${n.text}", JSON gives "${text}"`);
  return out;
}
