import { formatNum, type Num } from "../data/num.js";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

/** Creates an element: attributes (false / undefined skipped) and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

/**
 * A number as copyable text, carrying where it comes from (see `Num`): a test reads `data-json` in
 * `data-file`, applies `data-agg`, and compares with `data-value` and with the text.
 */
export function num(n: Num, testid: string, extra: Attrs = {}): HTMLSpanElement {
  return h(
    "span",
    {
      class: "num",
      "data-testid": testid,
      "data-value": String(n.value),
      "data-format": n.format,
      "data-file": n.file,
      "data-json": n.json,
      "data-agg": n.json ? (n.agg ?? "one") : undefined,
      ...extra,
    },
    formatNum(n.value, n.format),
  );
}

/** "mean ± std" as two numbers. */
export function meanStd(m: { mean: Num; std: Num }, testid: string, extra: Attrs = {}): HTMLSpanElement {
  return h(
    "span",
    { class: "pm" },
    num(m.mean, `${testid}-mean`, extra),
    " ± ",
    num(m.std, `${testid}-std`, extra),
  );
}

/** A table whose cells may hold nodes; wrapped so that it scrolls sideways on a phone. */
export function table(
  caption: string,
  head: readonly Child[],
  rows: readonly (readonly Child[])[],
  testid: string,
): HTMLElement {
  const thead = h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c))));
  const tbody = h(
    "tbody",
    {},
    ...rows.map((r) =>
      h("tr", {}, ...r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c)))),
    ),
  );
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h("table", { "data-testid": testid }, h("caption", {}, caption), thead, tbody),
  );
}

export function note(text: string, cls = "note", testid?: string): HTMLParagraphElement {
  return h("p", { class: cls, "data-testid": testid }, text);
}
