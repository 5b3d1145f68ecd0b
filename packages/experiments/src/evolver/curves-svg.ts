/**
 * The dev-overfitting plot (docs/evolver.md): mean dev and in-domain test accuracy of each evolved arm's
 * output after every generation (x = child evaluations), as a dependency-free SVG. Dev is solid, test dashed;
 * a test line flatter than its dev line is dev overfitting.
 */
import type { EvolverReport } from "./report.js";

const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#7f7f7f",
];

export function curvesSvg(r: EvolverReport, arms?: readonly string[]): string {
  const all = Object.keys(r.seeds[r.seeds.length - 1]?.generationCurves ?? {});
  const chosen = (arms ?? all.filter((a) => !a.includes("(F "))).filter((a) => all.includes(a));
  const W = 900;
  const H = 520;
  const pad = { l: 60, r: 250, t: 30, b: 50 };
  const series = chosen.map((arm) => {
    const mean = (k: "dev" | "idTest") => {
      const xs = r.seeds.filter((s) => s.generationCurves?.[arm]).map((s) => s.generationCurves[arm][k]);
      const len = Math.min(...xs.map((x) => x.length));
      return Array.from({ length: len }, (_, g) => xs.reduce((a, x) => a + x[g], 0) / xs.length);
    };
    return { arm, dev: mean("dev"), test: mean("idTest") };
  });
  const n = 5; // children per generation
  const maxX = Math.max(...series.map((s) => (s.dev.length - 1) * n), 1);
  const ys = series.flatMap((s) => [...s.dev, ...s.test]);
  const lo = Math.floor(Math.min(...ys) * 100) / 100;
  const hi = Math.ceil(Math.max(...ys) * 100) / 100;
  const x = (v: number) => pad.l + ((W - pad.l - pad.r) * v) / maxX;
  const y = (v: number) => H - pad.b - ((H - pad.t - pad.b) * (v - lo)) / (hi - lo || 1);
  const path = (v: number[]) =>
    v.map((p, g) => `${g === 0 ? "M" : "L"}${x(g * n).toFixed(1)},${y(p).toFixed(1)}`).join(" ");
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${pad.l}" y="18">Evolver: mean dev (solid) and in-domain test (dashed) accuracy of the output vs child evaluations, ${r.seeds.length} seeds</text>`,
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="black"/>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = lo + ((hi - lo) * k) / 5;
    out.push(`<text x="${pad.l - 8}" y="${y(v) + 4}" text-anchor="end">${(100 * v).toFixed(1)}</text>`);
    out.push(`<line x1="${pad.l}" y1="${y(v)}" x2="${W - pad.r}" y2="${y(v)}" stroke="#eee"/>`);
  }
  for (let k = 0; k <= 5; k++) {
    const v = Math.round((maxX * k) / 5);
    out.push(`<text x="${x(v)}" y="${H - pad.b + 18}" text-anchor="middle">${v}</text>`);
  }
  out.push(
    `<text x="${(pad.l + W - pad.r) / 2}" y="${H - 10}" text-anchor="middle">child evaluations</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    out.push(`<path d="${path(s.dev)}" fill="none" stroke="${c}" stroke-width="2"/>`);
    out.push(`<path d="${path(s.test)}" fill="none" stroke="${c}" stroke-width="2" stroke-dasharray="5,4"/>`);
    const ly = pad.t + 16 * i;
    out.push(
      `<line x1="${W - pad.r + 12}" y1="${ly}" x2="${W - pad.r + 36}" y2="${ly}" stroke="${c}" stroke-width="2"/>`,
    );
    out.push(
      `<text x="${W - pad.r + 42}" y="${ly + 4}">${s.arm.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</text>`,
    );
  });
  out.push("</svg>", "");
  return out.join("\n");
}
