import { formatNum } from "../../data/num.js";
import {
  LIVE_DEFAULT_PCB_RATIO,
  LIVE_METHODS,
  LIVE_TIES_DENSITY,
  type LiveMergerState,
  type LiveMethod,
} from "../../live/live-settings.js";
import { h, table } from "../dom.js";

const PCB_RATIOS = [0.05, 0.1, 0.2];
/** Quiet time after the last control change before merging (a dragged slider merges once). */
const DEBOUNCE_MS = 250;

/** Lets the browser paint ("Computing…") before the merge takes the thread (when it runs in the page's). */
const nextPaint = () => new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0)));

/**
 * Method selector, λ and PCB ratio controls and a per-task accuracy table, wired to a `LiveMerger`:
 * every control change (debounced) merges the zoo in this browser and scores each task. Each number
 * carries `data-value` (the fraction) and `data-format`, plus the method and parameters it was
 * computed with (`data-method`, `data-lambda`, `data-ratio`).
 */
export function livePanel(state: LiveMergerState, fallbackTasks: readonly string[]): HTMLElement {
  const disabled = !state.available;
  const tasks = state.available ? state.merger.tasks : fallbackTasks;
  const method = h(
    "select",
    { id: "live-method", "data-testid": "live-method", disabled },
    ...LIVE_METHODS.map((m) => h("option", { value: m.id }, m.label)),
  );
  const lambda = h("input", {
    id: "live-lambda",
    "data-testid": "live-lambda",
    type: "range",
    min: 0.1,
    max: 2.2,
    step: 0.1,
    value: 1,
    disabled,
  });
  const lambdaOut = h("output", { for: "live-lambda", "data-testid": "live-lambda-value" }, "1.0");
  const ratio = h(
    "select",
    { id: "live-ratio", "data-testid": "live-ratio", disabled: true },
    ...PCB_RATIOS.map((r) => h("option", { value: r, selected: r === LIVE_DEFAULT_PCB_RATIO }, String(r))),
  );
  const status = h(
    "p",
    {
      class: state.available ? "note" : "unavailable",
      role: "status",
      "aria-live": "polite",
      "data-testid": "live-status",
      "data-state": state.available ? "idle" : "unavailable",
      "data-engine": state.available ? state.merger.engine : undefined,
    },
    state.available ? "Ready." : state.reason,
  );
  const cells = tasks.map((_, i) =>
    h("span", { class: "num", "data-testid": "live-acc", "data-task": i, "data-format": "pct1" }, "–"),
  );
  const expertCells = tasks.map((_, i) => {
    const v = state.available ? state.merger.expertAccuracy[i] : undefined;
    return v === undefined
      ? "–"
      : h(
          "span",
          { class: "num", "data-testid": "live-expert", "data-value": String(v), "data-format": "pct1" },
          formatNum(v, "pct1"),
        );
  });
  const head = state.available
    ? ["task", "merged: test accuracy %", "expert alone %"]
    : ["task", "test accuracy %"];
  const tbl = table(
    "Live merge: test accuracy (%) per task",
    head,
    tasks.map((t, i) => (state.available ? [t, cells[i], expertCells[i]] : [t, cells[i]])),
    "live-table",
  );
  const about = state.available
    ? h(
        "p",
        { class: "note", "data-testid": "live-about" },
        `${state.merger.description} TIES keeps the top ${LIVE_TIES_DENSITY * 100} % of each task vector (the PCB paper's variant); PCB's ratio r is the fraction it keeps.`,
      )
    : null;

  lambda.addEventListener("input", () => {
    lambdaOut.textContent = Number(lambda.value).toFixed(1);
  });
  if (state.available) {
    let run = 0;
    let timer: number | undefined;
    const compute = async () => {
      const id = ++run;
      const m = method.value as LiveMethod;
      const usesRatio = LIVE_METHODS.find((x) => x.id === m)?.usesRatio ?? false;
      ratio.disabled = !usesRatio;
      const params = {
        lambda: Number(lambda.value),
        pcbRatio: usesRatio ? Number(ratio.value) : undefined,
      };
      status.textContent = "Computing…";
      status.dataset.state = "computing";
      if (state.merger.engine === "page") {
        await nextPaint();
        if (id !== run) return;
      }
      try {
        const r = await state.merger.mergeAndEvaluate(m, params);
        if (id !== run) return;
        r.testAccuracy.forEach((v, i) => {
          const c = cells[i];
          if (!c) return;
          c.textContent = formatNum(v, "pct1");
          c.dataset.value = String(v);
          c.dataset.method = m;
          c.dataset.lambda = String(params.lambda);
          if (params.pcbRatio !== undefined) c.dataset.ratio = String(params.pcbRatio);
          else delete c.dataset.ratio;
        });
        const mean = r.testAccuracy.reduce((a, b) => a + b, 0) / r.testAccuracy.length;
        status.textContent = `${LIVE_METHODS.find((x) => x.id === m)?.label}, λ ${params.lambda.toFixed(1)}${params.pcbRatio !== undefined ? `, r ${params.pcbRatio}` : ""}: average ${formatNum(mean, "pct1")} %. Merged in ${Math.round(r.mergeMs)} ms and scored in ${Math.round(r.evalMs)} ms in this browser.`;
        status.dataset.state = "done";
        status.dataset.run = String(id);
        status.dataset.mergeMs = r.mergeMs.toFixed(1);
        status.dataset.evalMs = r.evalMs.toFixed(1);
      } catch (e) {
        status.textContent = `Merge failed: ${e instanceof Error ? e.message : String(e)}`;
        status.dataset.state = "error";
      }
    };
    const schedule = () => {
      clearTimeout(timer);
      status.textContent = "Computing…";
      status.dataset.state = "computing";
      timer = window.setTimeout(() => void compute(), DEBOUNCE_MS);
    };
    lambda.addEventListener("input", schedule);
    for (const c of [method, lambda, ratio]) c.addEventListener("change", schedule);
    void compute();
  }
  return h(
    "div",
    { class: "panel-body" },
    status,
    h(
      "div",
      { class: "controls" },
      h("label", { for: "live-method" }, "method ", method),
      h("label", { for: "live-lambda" }, "λ ", lambda, " ", lambdaOut),
      h("label", { for: "live-ratio" }, "PCB ratio r ", ratio),
    ),
    tbl,
    about,
  );
}
