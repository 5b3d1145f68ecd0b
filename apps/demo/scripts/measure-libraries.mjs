#!/usr/bin/env node
// Measures the charting and tree-layout candidates the demo page could use: the size of a production
// Vite build of one realistic use of each (minified and gzipped), the time each tree layout takes on the
// IEEE 69-bus feeder and on a 1,000-bus random tree (Node), and the time each charting library takes to
// draw the same two charts in headless Chromium (until the DOM is laid out; paint is not included). The candidates are installed into a temporary folder
// (never into the workspace), so the page's own dependencies stay small.
//
//   node apps/demo/scripts/measure-libraries.mjs [--runs 15] [--keep]
//
// Needs the npm registry and /usr/bin/chromium (or X_CHROMIUM) for the render timings; prints a
// Markdown table and the load average.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const { values: args } = parseArgs({
  options: { runs: { type: "string", default: "15" }, keep: { type: "boolean", default: false } },
});
const RUNS = Number(args.runs);
const require = createRequire(import.meta.url);

const VERSIONS = {
  vite: "8.3.8",
  uplot: "1.6.32",
  "@observablehq/plot": "0.6.17",
  echarts: "6.1.0",
  vega: "6.4.0",
  "vega-lite": "6.5.0",
  "chart.js": "4.6.1",
  elkjs: "0.12.1",
  "@dagrejs/dagre": "3.1.3",
  "d3-hierarchy": "3.1.3",
};

// The same data for every chart candidate: 3 series × 80 points (a fitness curve) and 8 categories ×
// 4 groups with an error bar each (per-task accuracy per method).
const DATA_JS = `
const xs = Array.from({ length: 80 }, (_, i) => i + 1);
const series = ["Evolver", "random search", "DE"].map((name, s) => ({ name, ys: xs.map((x) => 0.5 + 0.1 * Math.log(x) / (s + 1)) }));
const tasks = ["t1","t2","t3","t4","t5","t6","t7","t8"];
const methods = ["TA","TIES","PCB","mean"];
const bars = tasks.flatMap((task, i) => methods.map((method, j) => ({ task, method, mean: 0.4 + 0.05 * ((i + j) % 7), sd: 0.02 })));
const COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"];
`;

const charts = {
  uplot: `
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
${DATA_JS}
window.__render = (el) => {
  el.replaceChildren();
  new uPlot({ title: "Best fitness", width: 600, height: 300,
    scales: { x: { time: false } },
    axes: [{ label: "evaluations" }, { label: "accuracy" }],
    series: [{}, ...series.map((s, i) => ({ label: s.name, stroke: COLORS[i] }))] },
    [xs, ...series.map((s) => s.ys)], el);
  // uPlot has no grouped categorical bars with error bars; the second chart is the same line chart.
  new uPlot({ title: "Per task", width: 600, height: 300, scales: { x: { time: false } },
    axes: [{ label: "task" }, { label: "accuracy" }],
    series: [{}, ...methods.map((m, i) => ({ label: m, stroke: COLORS[i] }))] },
    [tasks.map((_, i) => i), ...methods.map((m) => bars.filter((b) => b.method === m).map((b) => b.mean))], el);
};`,
  "@observablehq/plot": `
import * as Plot from "@observablehq/plot";
${DATA_JS}
window.__render = (el) => {
  el.replaceChildren();
  const rows = series.flatMap((s) => s.ys.map((y, i) => ({ name: s.name, x: xs[i], y })));
  el.append(Plot.plot({ title: "Best fitness", width: 600, height: 300, x: { label: "evaluations" }, y: { label: "accuracy" },
    color: { legend: true, range: COLORS }, marks: [Plot.line(rows, { x: "x", y: "y", stroke: "name" })] }));
  el.append(Plot.plot({ title: "Per task", width: 600, height: 300, fx: { label: "task" }, x: { axis: null }, y: { label: "accuracy" },
    color: { legend: true, range: COLORS }, marks: [
      Plot.barY(bars, { fx: "task", x: "method", y: "mean", fill: "method" }),
      Plot.ruleX(bars, { fx: "task", x: "method", y1: (d) => d.mean - d.sd, y2: (d) => d.mean + d.sd }) ] }));
};`,
  echarts: `
import * as echarts from "echarts/core";
import { LineChart, BarChart, CustomChart } from "echarts/charts";
import { GridComponent, TitleComponent, LegendComponent, AriaComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
echarts.use([LineChart, BarChart, CustomChart, GridComponent, TitleComponent, LegendComponent, AriaComponent, SVGRenderer]);
${DATA_JS}
window.__render = (el) => {
  el.replaceChildren();
  const a = document.createElement("div"); a.style.cssText = "width:600px;height:300px"; el.append(a);
  const b = document.createElement("div"); b.style.cssText = "width:600px;height:300px"; el.append(b);
  echarts.init(a, null, { renderer: "svg" }).setOption({ animation: false, title: { text: "Best fitness" }, legend: {}, color: COLORS,
    xAxis: { type: "value", name: "evaluations" }, yAxis: { type: "value", name: "accuracy" },
    series: series.map((s) => ({ type: "line", name: s.name, showSymbol: false, data: s.ys.map((y, i) => [xs[i], y]) })) });
  echarts.init(b, null, { renderer: "svg" }).setOption({ animation: false, title: { text: "Per task" }, legend: {}, color: COLORS,
    xAxis: { type: "category", name: "task", data: tasks }, yAxis: { type: "value", name: "accuracy" },
    series: methods.map((m) => ({ type: "bar", name: m, data: bars.filter((d) => d.method === m).map((d) => d.mean) })) });
};`,
  "vega-lite": `
import { View, parse } from "vega";
import { compile } from "vega-lite";
${DATA_JS}
window.__render = async (el) => {
  el.replaceChildren();
  const rows = series.flatMap((s) => s.ys.map((y, i) => ({ name: s.name, x: xs[i], y })));
  const specs = [
    { title: "Best fitness", width: 600, height: 300, data: { values: rows }, mark: "line",
      encoding: { x: { field: "x", type: "quantitative", title: "evaluations" }, y: { field: "y", type: "quantitative", title: "accuracy" },
        color: { field: "name", scale: { range: COLORS } } } },
    { title: "Per task", width: 600, height: 300, data: { values: bars }, layer: [
      { mark: "bar", encoding: { x: { field: "task" }, xOffset: { field: "method" }, y: { field: "mean", type: "quantitative", title: "accuracy" }, color: { field: "method", scale: { range: COLORS } } } },
      { mark: "rule", transform: [{ calculate: "datum.mean - datum.sd", as: "lo" }, { calculate: "datum.mean + datum.sd", as: "hi" }],
        encoding: { x: { field: "task" }, xOffset: { field: "method" }, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } } } ] },
  ];
  for (const spec of specs) {
    const div = document.createElement("div"); el.append(div);
    await new View(parse(compile(spec).spec), { renderer: "svg", container: div }).runAsync();
  }
};`,
  "chart.js": `
import { Chart, LineController, BarController, LineElement, BarElement, PointElement, LinearScale, CategoryScale, Title, Legend } from "chart.js";
Chart.register(LineController, BarController, LineElement, BarElement, PointElement, LinearScale, CategoryScale, Title, Legend);
${DATA_JS}
window.__render = (el) => {
  el.replaceChildren();
  for (const kind of ["line", "bar"]) {
    const c = document.createElement("canvas"); c.width = 600; c.height = 300; el.append(c);
    const data = kind === "line"
      ? { datasets: series.map((s, i) => ({ label: s.name, borderColor: COLORS[i], pointRadius: 0, data: s.ys.map((y, k) => ({ x: xs[k], y })) })) }
      : { labels: tasks, datasets: methods.map((m, i) => ({ label: m, backgroundColor: COLORS[i], data: bars.filter((d) => d.method === m).map((d) => d.mean) })) };
    new Chart(c, { type: kind, data, options: { animation: false, responsive: false,
      plugins: { title: { display: true, text: kind } },
      scales: { x: { type: kind === "line" ? "linear" : "category", title: { display: true, text: "x" } }, y: { title: { display: true, text: "accuracy" } } } } });
  }
};`,
};

// Each layout gets the same parent array (bus i's parent) and returns x/y per bus.
const layouts = {
  elkjs: `
import ELK from "elkjs/lib/elk.bundled.js";
const elk = new ELK();
export async function layout(parent) {
  const children = parent.map((_, i) => ({ id: String(i), width: 10, height: 10 }));
  const edges = parent.flatMap((p, i) => (p < 0 ? [] : [{ id: "e" + i, sources: [String(p)], targets: [String(i)] }]));
  const g = await elk.layout({ id: "root", layoutOptions: { "elk.algorithm": "mrtree" }, children, edges });
  return g.children.map((c) => [c.x, c.y]);
}`,
  "@dagrejs/dagre": `
import dagre from "@dagrejs/dagre";
export async function layout(parent) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB" }); g.setDefaultEdgeLabel(() => ({}));
  parent.forEach((_, i) => g.setNode(String(i), { width: 10, height: 10 }));
  parent.forEach((p, i) => { if (p >= 0) g.setEdge(String(p), String(i)); });
  dagre.layout(g);
  return parent.map((_, i) => { const n = g.node(String(i)); return [n.x, n.y]; });
}`,
  "d3-hierarchy": `
import { stratify, tree } from "d3-hierarchy";
export async function layout(parent) {
  const root = stratify().id((d) => String(d.i)).parentId((d) => (d.p < 0 ? null : String(d.p)))(parent.map((p, i) => ({ i, p })));
  tree().nodeSize([12, 20])(root);
  const out = new Array(parent.length);
  root.each((n) => { out[n.data.i] = [n.x, n.y]; });
  return out;
}`,
};

function sh(cmd, argv, cwd) {
  return execFileSync(cmd, argv, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
}

function jsSize(dir) {
  let min = 0;
  let gz = 0;
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(js|css)$/.test(f)) {
        const buf = readFileSync(p);
        min += buf.length;
        gz += gzipSync(buf, { level: 9 }).length;
      }
    }
  };
  walk(dir);
  return { min, gz };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// IEEE 69-bus parents from @x/grid-model's built feeder (falls back to a path if the package is not built).
async function ieee69Parents() {
  const gm = await import(new URL("../../../packages/grid-model/dist/index.js", import.meta.url).href);
  const feeder = gm.case69();
  return Array.from(feeder.parent);
}
function randomTree(n, seed) {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  return Array.from({ length: n }, (_, i) => (i === 0 ? -1 : Math.floor(rnd() * i)));
}

const load0 = loadavg();
const dir = mkdtempSync(join(tmpdir(), "x-demo-measure-"));
try {
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ private: true, type: "module", dependencies: VERSIONS }),
  );
  sh("pnpm", ["install", "--silent"], dir);
  const rows = [];
  const viteBin = join(dir, "node_modules/vite/bin/vite.js");
  const build = (name, entry) => {
    const d = join(dir, name.replace(/[@/]/g, "_"));
    sh("mkdir", ["-p", d]);
    writeFileSync(join(d, "main.js"), entry);
    writeFileSync(
      join(d, "index.html"),
      `<!doctype html><div id="app"></div><script type="module" src="./main.js"></script>`,
    );
    sh("node", [viteBin, "build", "--logLevel", "error", "--outDir", "dist", "--base", "./"], d);
    return d;
  };
  const chartDirs = {};
  for (const [name, entry] of Object.entries(charts)) {
    chartDirs[name] = build(name, entry);
    rows.push({ kind: "chart", name, ...jsSize(join(chartDirs[name], "dist")) });
  }
  const parents69 = await ieee69Parents().catch(() => null);
  const parents1000 = randomTree(1000, 7);
  for (const [name, entry] of Object.entries(layouts)) {
    const d = build(name, `${entry}\nwindow.__layout = layout;`);
    const row = { kind: "layout", name, ...jsSize(join(d, "dist")) };
    writeFileSync(join(d, "layout.mjs"), entry);
    const bench = `import { layout } from "./layout.mjs";
      const p69 = ${JSON.stringify(parents69)}; const p1000 = ${JSON.stringify(parents1000)};
      const time = async (p) => { const t = []; for (let i = 0; i < ${RUNS}; i++) { const t0 = performance.now(); await layout(p); t.push(performance.now() - t0); } t.sort((a, b) => a - b); return t[t.length >> 1]; };
      console.log(JSON.stringify({ ms69: p69 ? await time(p69) : null, ms1000: await time(p1000) }));`;
    writeFileSync(join(d, "bench.mjs"), bench);
    Object.assign(row, JSON.parse(sh("node", ["bench.mjs"], d)));
    rows.push(row);
  }

  // Render timings in headless Chromium (same flags as the browser test; Playwright gives every launch a
  // fresh temporary profile).
  const chromium = process.env.X_CHROMIUM ?? "/usr/bin/chromium";
  let pw = null;
  try {
    pw = require("playwright-core");
  } catch {}
  if (pw && statSync(chromium, { throwIfNoEntry: false })) {
    const sirvRoot = (name) => join(chartDirs[name], "dist");
    const server = createServer((req, res) => {
      const [, slug, ...rest] = req.url.split("?")[0].split("/");
      const name = Object.keys(chartDirs)[Number(slug)];
      try {
        const body = readFileSync(join(sirvRoot(name), rest.join("/") || "index.html"));
        const type = req.url.endsWith(".js")
          ? "text/javascript"
          : req.url.endsWith(".css")
            ? "text/css"
            : "text/html";
        res.writeHead(200, { "content-type": type }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const port = server.address().port;
    const browser = await pw.chromium.launch({
      executablePath: chromium,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
    });
    try {
      for (const row of rows.filter((r) => r.kind === "chart")) {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/${Object.keys(chartDirs).indexOf(row.name)}/`);
        await page.waitForFunction(() => typeof window.__render === "function");
        const times = await page.evaluate(async (runs) => {
          const el = document.getElementById("app");
          const t = [];
          for (let i = 0; i < runs; i++) {
            const t0 = performance.now();
            await window.__render(el);
            // Flush work deferred to a microtask or task (uPlot commits there), then force style and layout.
            await new Promise((r) => setTimeout(r, 0));
            void el.getBoundingClientRect().height;
            t.push(performance.now() - t0);
          }
          return t;
        }, RUNS);
        row.renderMs = median(times.slice(1));
        row.firstRenderMs = times[0];
        await page.close();
      }
    } finally {
      await browser.close();
      server.close();
    }
  } else {
    console.error(`render timings skipped: playwright-core or ${chromium} missing`);
  }

  const kb = (b) => (b / 1024).toFixed(1);
  const ms = (v) => (v == null ? "–" : v.toFixed(2));
  console.log(
    `load average at start ${load0.map((v) => v.toFixed(2)).join(" / ")}, at end ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" / ")}; ${RUNS} runs, medians\n`,
  );
  console.log(
    "| kind | library | version | min KiB | gzip KiB | first render ms | render ms (median) | layout ms IEEE 69 | layout ms 1000-bus |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.kind} | ${r.name} | ${VERSIONS[r.name]} | ${kb(r.min)} | ${kb(r.gz)} | ${ms(r.firstRenderMs)} | ${ms(r.renderMs)} | ${ms(r.ms69)} | ${ms(r.ms1000)} |`,
    );
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else console.error(`kept ${dir}`);
}
