import "@fontsource/inter/latin-400.css";
import "@fontsource/inter/latin-600.css";
import "./styles.css";
import {
  DATA_INDEX_FILE,
  type DemoData,
  loadDemoData,
  type PanelSource,
  parseDataIndex,
} from "../data/load.js";
import type { SourceInfo } from "../data/views/source.js";
import { loadLiveMergerForPage } from "../live/live-client.js";
import { h, note } from "./dom.js";
import { evolutionPanel } from "./panels/evolution.js";
import { gridPanel } from "./panels/grid.js";
import { livePanel } from "./panels/live.js";
import { mergingPanel } from "./panels/merging.js";
import { snnPanel } from "./panels/snn.js";

async function readJson(file: string): Promise<unknown> {
  const res = await fetch(`data/${encodeURIComponent(file)}`, { cache: "no-store" });
  if (!res.ok) throw new Error(`data/${file}: HTTP ${res.status}`);
  return res.json();
}

interface PanelDef<V extends { source: SourceInfo }> {
  id: string;
  title: string;
  intro: string;
  sources: readonly PanelSource<V>[];
  empty: string;
  render: (view: V, width: number) => HTMLElement;
}

function sourceLine(s: SourceInfo): HTMLElement {
  return h(
    "p",
    { class: "source", "data-testid": "source" },
    h("strong", {}, s.kind === "tour" ? "Tour run" : "Committed result"),
    ` ${s.file}: \`${s.command}\`, started ${s.startedAt}${s.machine ? ` on ${s.machine}` : ""}.`,
  );
}

/** A panel with a selector over its sources (the tour first, then committed results). */
function panel<V extends { source: SourceInfo }>(
  def: PanelDef<V>,
  widthOf: () => number,
): { el: HTMLElement; rerender: () => void } {
  const body = h("div", { class: "panel-content" });
  let current = def.sources.findIndex((s) => s.view !== undefined);
  if (current < 0) current = 0;
  const select =
    def.sources.length > 1
      ? h(
          "select",
          { id: `${def.id}-source`, "data-testid": `${def.id}-source` },
          ...def.sources.map((s, i) => h("option", { value: i, selected: i === current }, s.label)),
        )
      : null;
  const render = () => {
    const src = def.sources[current];
    body.replaceChildren();
    body.dataset.state = !src ? "empty" : src.view ? "ok" : src.notRun ? "not-run" : "error";
    if (!src) {
      body.append(note(def.empty, "not-run", `${def.id}-not-run`));
      return;
    }
    if (src.notRun) {
      body.append(note(`Not run yet: ${src.notRun}`, "not-run", `${def.id}-not-run`));
      return;
    }
    if (src.error || !src.view) {
      body.append(note(`Cannot show ${src.file}: ${src.error}`, "error", `${def.id}-error`));
      return;
    }
    body.append(sourceLine(src.view.source), def.render(src.view, widthOf()));
  };
  select?.addEventListener("change", () => {
    current = Number(select.value);
    render();
  });
  render();
  const el = h(
    "section",
    { id: def.id, class: "panel", "aria-labelledby": `${def.id}-title`, "data-panel": def.id },
    h("h2", { id: `${def.id}-title` }, def.title),
    h("p", { class: "intro" }, def.intro),
    select ? h("label", { class: "source-select", for: `${def.id}-source` }, "Results: ", select) : null,
    body,
  );
  return { el, rerender: render };
}

async function main(): Promise<void> {
  const app = document.getElementById("app")!;
  let data: DemoData;
  let liveBundle = false;
  try {
    const index = parseDataIndex(await readJson(DATA_INDEX_FILE));
    liveBundle = index.liveBundle;
    data = await loadDemoData(index.files, readJson);
  } catch (e) {
    app.replaceChildren(
      note(`Cannot load the data: ${e instanceof Error ? e.message : String(e)}`, "error", "load-error"),
    );
    return;
  }
  const widthOf = () => Math.max(280, Math.min(1100, app.clientWidth - 2));
  const panels = [
    panel(
      {
        id: "merging",
        title: "Model merging",
        intro:
          "Small MLP experts on MNIST / Fashion-MNIST tasks merged into one model by each method (hyperparameters selected on validation, scored on test).",
        sources: data.merging,
        empty: "Not run yet: no merging results in this data folder.",
        render: mergingPanel,
      },
      widthOf,
    ),
    panel(
      {
        id: "evolution",
        title: "Evolution",
        intro:
          "Evolver and differential evolution over model weights: fitness against evaluations, the CADE F / CR schedule, and Evolver against random search at the same budget.",
        sources: data.evolution,
        empty: "Not run yet: no evolution results in this data folder.",
        render: (v, w) => evolutionPanel(v, w),
      },
      widthOf,
    ),
    panel(
      {
        id: "snn",
        title: "Spiking networks",
        intro:
          "A spiking network's response to one image (spike raster, membrane potentials) and CADE fine-tuning arms.",
        sources: data.snn,
        empty:
          "Not run yet: spiking-network results appear here once the SNN package exists and `x demo` runs its CADE step.",
        render: snnPanel,
      },
      widthOf,
    ),
    panel(
      {
        id: "grid",
        title: "Grid identification",
        intro:
          "Distribution-grid topology and branch impedances identified from simulated smart-meter data (balanced positive-sequence simulation, constant-power loads, every bus metered, independent zero-mean meter noise).",
        sources: data.grid,
        empty: "Not run yet: no grid results in this data folder.",
        render: gridPanel,
      },
      widthOf,
    ),
  ];
  const liveTasks = data.merging.find((s) => s.view)?.view?.tasks ?? [];
  const live = h(
    "section",
    { id: "live", class: "panel", "aria-labelledby": "live-title", "data-panel": "live" },
    h("h2", { id: "live-title" }, "Live merge"),
    h(
      "p",
      { class: "intro" },
      "Merge the model zoo in your browser with a method and its parameters and see the per-task test accuracy.",
    ),
    livePanel(await loadLiveMergerForPage(liveBundle), liveTasks),
  );
  const nav = h(
    "nav",
    { "aria-label": "Panels" },
    ...[...panels.map((p) => p.el), live].map((p) =>
      h("a", { href: `#${p.id}` }, p.querySelector("h2")!.textContent!),
    ),
  );
  app.replaceChildren(
    ...(data.tourError ? [note(`tour.json cannot be shown: ${data.tourError}`, "error", "tour-error")] : []),
    nav,
    ...panels.map((p) => p.el),
    live,
  );
  app.dataset.ready = "true";
  // Charts are drawn for the width they get; redraw when it changes noticeably.
  let lastWidth = widthOf();
  let timer: number | undefined;
  new ResizeObserver(() => {
    clearTimeout(timer);
    timer = window.setTimeout(() => {
      const w = widthOf();
      if (Math.abs(w - lastWidth) < 40) return;
      lastWidth = w;
      for (const p of panels) p.rerender();
    }, 150);
  }).observe(app);
}

void main();
