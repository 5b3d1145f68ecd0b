import { formatNum } from "../../data/num.js";
import { LIVE_METHODS, type LiveMergerState, type LiveMethod } from "../../live/live-merge.js";
import { h, table } from "../dom.js";

const PCB_RATIOS = [0.05, 0.1, 0.2];

/** Method selector, λ and PCB ratio controls and a per-task accuracy table, wired to a `LiveMerger`. */
export function livePanel(state: LiveMergerState, tasks: readonly string[]): HTMLElement {
  const disabled = !state.available;
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
    { id: "live-ratio", "data-testid": "live-ratio", disabled },
    ...PCB_RATIOS.map((r) => h("option", { value: r, selected: r === 0.1 }, String(r))),
  );
  const status = h(
    "p",
    { class: state.available ? "note" : "unavailable", role: "status", "data-testid": "live-status" },
    state.available ? "Ready." : state.reason,
  );
  const cells = tasks.map((_, i) =>
    h("span", { class: "num", "data-testid": "live-acc", "data-task": i }, "–"),
  );
  const tbl = table(
    "Live merge: test accuracy (%) per task",
    ["task", "test accuracy %"],
    tasks.map((t, i) => [t, cells[i]]),
    "live-table",
  );

  lambda.addEventListener("input", () => {
    lambdaOut.textContent = Number(lambda.value).toFixed(1);
  });
  if (state.available) {
    let pending = 0;
    const run = async () => {
      const id = ++pending;
      status.textContent = "Merging…";
      const m = method.value as LiveMethod;
      const usesRatio = LIVE_METHODS.find((x) => x.id === m)?.usesRatio;
      ratio.disabled = !usesRatio;
      try {
        const r = await state.merger.mergeAndEvaluate(m, {
          lambda: Number(lambda.value),
          pcbRatio: usesRatio ? Number(ratio.value) : undefined,
        });
        if (id !== pending) return;
        r.testAccuracy.forEach((v, i) => {
          if (cells[i]) {
            cells[i].textContent = formatNum(v, "pct1");
            cells[i].dataset.value = String(v);
          }
        });
        status.textContent = "Done.";
      } catch (e) {
        status.textContent = `Merge failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    };
    for (const c of [method, lambda, ratio]) c.addEventListener("change", () => void run());
    void run();
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
  );
}
