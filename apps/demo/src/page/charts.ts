import * as Plot from "@observablehq/plot";
import { h } from "./dom.js";

/**
 * Okabe & Ito's colour-blind-safe palette, ordered so that the first colours differ most; yellow last
 * (weak on white).
 */
export const OKABE_ITO = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#D55E00",
  "#56B4E9",
  "#CC79A7",
  "#000000",
  "#F0E442",
] as const;
export const WRONG = "#D55E00";
export const MISSED = "#E69F00";
export const NEUTRAL = "#4D4D4D";

export interface ChartSpec {
  /** Short name, used for `data-chart` (tests find charts by it). */
  readonly id: string;
  readonly title: string;
  readonly subtitle?: string;
  readonly caption?: string;
  /** Axis labels with units; `null` only where the axis carries no quantity (a tree drawing's breadth). */
  readonly xLabel: string | null;
  readonly yLabel: string;
  /** The colour legend: series names and their colours. */
  readonly legend: { readonly domain: readonly string[]; readonly range: readonly string[] };
  /** Extra legend entries drawn as line styles (e.g. "dashed = population mean"). */
  readonly legendNote?: string;
  readonly options: Plot.PlotOptions;
}

/**
 * One chart: a titled figure with the legend above the plot and the axis labels set, so that no chart
 * goes without them. The figure carries `data-chart` and the SVG an accessible name.
 */
export function chart(spec: ChartSpec, width: number): HTMLElement {
  const color = { domain: [...spec.legend.domain], range: [...spec.legend.range] };
  const legend = Plot.legend({
    color: { ...color, type: "categorical" },
    swatchSize: 14,
    className: "legend",
  }) as HTMLElement;
  const o = spec.options;
  const yOnFacet = (o.y as { axis?: unknown } | undefined)?.axis === null && o.fy !== undefined;
  const plot = Plot.plot({
    width,
    style: { fontSize: "13px", fontFamily: "inherit", overflow: "visible" },
    ariaLabel: spec.title,
    ariaDescription: spec.subtitle,
    ...o,
    color,
    x: spec.xLabel === null ? { axis: null, ...(o.x as object) } : { label: spec.xLabel, ...(o.x as object) },
    // Grouped charts hide the inner y axis; the facet axis (the groups) then carries the label.
    y: yOnFacet ? o.y : { label: spec.yLabel, ...(o.y as object) },
    ...(yOnFacet ? { fy: { ...(o.fy as object), label: spec.yLabel } } : {}),
  }) as SVGSVGElement | HTMLElement;
  return h(
    "figure",
    {
      class: "chart",
      "data-chart": spec.id,
      "data-x-label": spec.xLabel ?? "none",
      "data-y-label": spec.yLabel,
    },
    h("h3", { class: "chart-title" }, spec.title),
    spec.subtitle ? h("p", { class: "chart-subtitle" }, spec.subtitle) : null,
    h(
      "div",
      { class: "chart-legend", "data-testid": "legend" },
      legend,
      spec.legendNote ? h("span", { class: "legend-note" }, spec.legendNote) : null,
    ),
    plot,
    spec.caption ? h("figcaption", {}, spec.caption) : null,
  );
}

/** Colours for a list of series names, cycling through the palette. */
export function colours(names: readonly string[]): string[] {
  return names.map((_, i) => OKABE_ITO[i % OKABE_ITO.length]);
}

/** One row per `y`: a whisker over mean ± std, a tick at the mean and one dot per seed (x in the data's unit). */
export function seedSpreadMarks(
  summary: readonly { y: string; colour: string; mean: number; std: number }[],
  dots: readonly { y: string; colour: string; v: number; seed: number }[],
): Plot.Markish[] {
  return [
    Plot.ruleY(summary, {
      y: "y",
      x1: (d) => d.mean - d.std,
      x2: (d) => d.mean + d.std,
      stroke: "colour",
      strokeWidth: 2,
    }),
    Plot.tickX(summary, { y: "y", x: "mean", stroke: "colour", strokeWidth: 3 }),
    Plot.dot(dots, {
      y: "y",
      x: "v",
      fill: "colour",
      fillOpacity: 0.6,
      r: 4,
      title: (d) => `seed ${d.seed}: ${d.v.toFixed(1)}`,
    }),
  ];
}
