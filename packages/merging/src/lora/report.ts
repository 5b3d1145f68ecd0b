import type { ExtractLoraResult } from "./extract.js";

/**
 * An extraction as text (what `x extract-lora` prints): what was written and how long it took, then per module
 * its kind, shape and either its rank and relative error or why it is at full rank; skipped and ignored tensors.
 */
export function formatLoraExtraction(r: ExtractLoraResult, seconds: number): string {
  const lora = r.modules.filter((m) => m.rank > 0);
  const full = r.modules.filter((m) => m.rank === 0);
  let w = 6;
  for (const m of r.modules) w = Math.max(w, Math.min(60, m.name.length));
  const rows = r.modules.map(
    (m) =>
      `  ${m.name.padEnd(w)}  ${m.kind.padEnd(9)}  [${m.shape.join(", ")}]  ${
        m.rank > 0
          ? `rank ${String(m.rank).padStart(4)}  rel. error ${m.relativeError.toExponential(3)}`
          : `full rank${m.reason ? ` (${m.reason})` : ""}`
      }`,
  );
  return [
    `wrote ${r.out}: ${lora.length} LoRA module${lora.length === 1 ? "" : "s"} (r = ${r.rank}), ${full.length} at full rank, in ${seconds.toFixed(2)}s`,
    `  ${"module".padEnd(w)}  ${"kind".padEnd(9)}  shape`,
    ...rows,
    ...(r.skipped.length > 0 ? [`  skipped: ${r.skipped.join(", ")}`] : []),
    ...(r.ignored.length > 0 ? [`  not in the adapter (no module): ${r.ignored.length} tensors`] : []),
  ].join("\n");
}
