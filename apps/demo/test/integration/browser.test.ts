// End to end in a real browser: build the page with Vite, serve it with serveDemo over real data, drive
// Debian's chromium with playwright-core, and compare every number the page shows with the JSON files.
// Screenshots go to apps/demo/test-output/ (ignored by git). Without chromium the test skips outside CI
// and fails in CI.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mergeFlat } from "@x/merging";
import {
  backboneLayout,
  evaluateTasks,
  type LiveBundle,
  quickZooConfig,
  readLiveMergeBundle,
  writeLiveMergeBundle,
} from "@x/zoo";
import { type Browser, chromium, type Page } from "playwright-core";
import sirv from "sirv";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveMergeParams, type LiveMethod, liveMergeCall } from "../../src/live/live-settings.js";
import { exportStaticDemo } from "../../src/server/export.js";
import { serveDemo } from "../../src/server/serve.js";
import { makeTourFixture } from "../fixtures/make-tour.js";
import { checkNum, type NumAttrs } from "../helpers/resolve-num.js";

const PKG = fileURLToPath(new URL("../../", import.meta.url));
const RESULTS = fileURLToPath(new URL("../../../../bench/results/", import.meta.url));
const OUTPUT = join(PKG, "test-output");
const CHROMIUM = process.env.X_CHROMIUM ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const WRONG = "#D55E00";
const VIEWPORTS = { laptop: { width: 1366, height: 900 }, phone: { width: 390, height: 844 } } as const;

if (!HAVE_CHROMIUM) {
  const how = `browser test needs chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set X_CHROMIUM)`;
  if (process.env.CI) throw new Error(how);
  console.warn(`skipping: ${how}`);
}

describe.skipIf(!HAVE_CHROMIUM)("demo page in chromium", () => {
  const tmp = mkdtempSync(join(tmpdir(), "x-demo-browser-"));
  const appDir = join(tmp, "page");
  const tourDir = join(tmp, "tour");
  const liveDir = join(tmp, "live");
  let browser: Browser;
  let bundle: LiveBundle;
  const docs: Record<string, unknown> = {};

  beforeAll(async () => {
    await build({
      configFile: join(PKG, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir: appDir, emptyOutDir: true },
    });
    mkdirSync(tourDir);
    writeFileSync(join(tourDir, "tour.json"), JSON.stringify(makeTourFixture()));
    for (const f of [
      "merging-8task.json",
      "merging-8task-sgd.json",
      "evolver.json",
      "evolver-lambda-check.json",
      "grid.json",
    ])
      docs[f] = JSON.parse(readFileSync(join(RESULTS, f), "utf8"));
    docs["tour.json"] = JSON.parse(readFileSync(join(tourDir, "tour.json"), "utf8"));
    mkdirSync(OUTPUT, { recursive: true });
    // A live-merge bundle of a small zoo (3 tasks; trained once into the zoo cache, then loaded).
    await writeLiveMergeBundle({
      config: quickZooConfig(1, 3),
      cacheRoot: process.env.X_ZOO_CACHE ?? join(tmp, "zoo-cache"),
      outDir: liveDir,
      testPerTask: 100,
      workers: 0,
    });
    bundle = await readLiveMergeBundle(liveDir);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Playwright gives every launch a fresh temporary profile (user data dir).
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens the page, records requests that leave the server and errors, and waits until it is drawn. */
  async function open(url: string, viewport: { width: number; height: number }) {
    const page = await browser.newPage({ viewport });
    const problems: string[] = [];
    const origin = new URL(url).origin;
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("data:"))
        problems.push(`request outside the server: ${r.url()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.goto(url);
    await page.waitForSelector("#app[data-ready=true]", { timeout: 30_000 });
    return { page, problems };
  }

  async function shownNumbers(page: Page, scope = "#app"): Promise<NumAttrs[]> {
    return page.$$eval(`${scope} [data-json]`, (els) =>
      els.map((e) => ({
        value: e.getAttribute("data-value")!,
        format: e.getAttribute("data-format")!,
        file: e.getAttribute("data-file"),
        json: e.getAttribute("data-json"),
        agg: e.getAttribute("data-agg"),
        text: e.textContent ?? "",
      })),
    );
  }

  /** Every chart has a title, labelled axes and a legend with at least one entry. */
  async function chartProblems(page: Page): Promise<string[]> {
    return page.$$eval("figure.chart", (figs) =>
      figs.flatMap((f) => {
        const id = f.getAttribute("data-chart");
        const out: string[] = [];
        if (!f.querySelector(".chart-title")?.textContent?.trim()) out.push(`${id}: no title`);
        if (!f.querySelector("svg")) out.push(`${id}: no plot`);
        const y = f.getAttribute("data-y-label") ?? "";
        const x = f.getAttribute("data-x-label") ?? "";
        if (!y.trim()) out.push(`${id}: no y label`);
        if (!x.trim()) out.push(`${id}: no x label`);
        // The labels are drawn in the plot, not only declared.
        const texts = [...f.querySelectorAll("svg text")].map((t) => t.textContent ?? "").join(" | ");
        if (!texts.includes(y.slice(0, 12))) out.push(`${id}: y label "${y}" not drawn`);
        if (x !== "none" && !texts.includes(x.slice(0, 12))) out.push(`${id}: x label "${x}" not drawn`);
        if (f.querySelectorAll("[data-testid=legend] [class*=swatch]").length === 0)
          out.push(`${id}: no legend entries`);
        return out;
      }),
    );
  }

  async function numberProblems(page: Page): Promise<{ count: number; problems: string[] }> {
    const nums = await shownNumbers(page);
    return { count: nums.length, problems: nums.flatMap((n) => checkNum(n, docs)) };
  }

  /** The whole page, and each panel on its own (easier to look at). */
  async function screenshots(page: Page, prefix: string): Promise<void> {
    await page.screenshot({ path: join(OUTPUT, `${prefix}.png`), fullPage: true });
    for (const id of ["merging", "evolution", "snn", "grid", "live"])
      await (await page.$(`#${id}`))!.screenshot({ path: join(OUTPUT, `${prefix}-${id}.png`) });
  }

  async function fitsWidth(page: Page): Promise<boolean> {
    return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  }

  it("shows the committed results: every panel, every number equal to its JSON, at laptop and phone width", async () => {
    const server = await serveDemo({ dataDir: RESULTS, appDir });
    try {
      for (const [name, viewport] of Object.entries(VIEWPORTS)) {
        const { page, problems } = await open(server.url, viewport);
        const states = await page.$$eval("[data-panel] .panel-content", (els) =>
          Object.fromEntries(
            els.map((e) => [
              e.closest("[data-panel]")!.getAttribute("data-panel"),
              (e as HTMLElement).dataset.state,
            ]),
          ),
        );
        expect(states).toEqual({ merging: "ok", evolution: "ok", snn: "empty", grid: "ok" });
        expect(await page.textContent("[data-testid=snn-not-run]")).toMatch(/^Not run yet: /);
        const charts = await page.$$eval("figure.chart", (f) => f.map((x) => x.getAttribute("data-chart")));
        expect(charts).toEqual([
          "merging-per-task",
          "merging-task-count",
          "merging-seed-spread",
          "evolution-fitness",
          "evolution-cade-schedule",
          "evolution-versus-random",
          "grid-error-vs-noise",
          "grid-error-vs-samples",
        ]);
        expect(await chartProblems(page)).toEqual([]);
        const { count, problems: wrong } = await numberProblems(page);
        expect(count).toBeGreaterThan(400);
        expect(wrong).toEqual([]);
        // The other committed files behind the selectors.
        await page.selectOption("[data-testid=merging-source]", {
          label: "committed merging-8task-sgd.json",
        });
        await page.selectOption("[data-testid=evolution-source]", {
          label: "committed evolver-lambda-check.json",
        });
        expect(await page.textContent("[data-testid=merging-task-count-missing]")).toContain(
          "merging-8task-sgd.json",
        );
        const other = await numberProblems(page);
        expect(other.problems).toEqual([]);
        expect((await shownNumbers(page, "#merging")).every((n) => n.file === "merging-8task-sgd.json")).toBe(
          true,
        );
        expect(await fitsWidth(page)).toBe(true);
        expect(problems).toEqual([]);
        await page.selectOption("[data-testid=merging-source]", { label: "committed merging-8task.json" });
        await page.selectOption("[data-testid=evolution-source]", { label: "committed evolver.json" });
        await screenshots(page, `committed-${name}`);
        await page.close();
      }
    } finally {
      await server.close();
    }
  });

  it("shows a tour next to the committed results: trees with the wrong branch highlighted, SNN raster, recorded schedule", async () => {
    const server = await serveDemo({ dataDir: [tourDir, RESULTS], appDir });
    try {
      for (const [name, viewport] of Object.entries(VIEWPORTS)) {
        const { page, problems } = await open(server.url, viewport);
        const sources = await page.$$eval("[data-panel] [data-testid=source]", (els) =>
          els.map((e) => e.textContent),
        );
        expect(sources).toHaveLength(4);
        for (const s of sources) expect(s).toMatch(/^Tour run tour\.json/);
        const charts = await page.$$eval("figure.chart", (f) => f.map((x) => x.getAttribute("data-chart")));
        for (const id of [
          "snn-raster",
          "snn-membrane",
          "snn-arms",
          "grid-true-tree",
          "grid-identified-tree",
          "grid-branch-errors",
        ])
          expect(charts).toContain(id);
        expect(await chartProblems(page)).toEqual([]);
        const { problems: wrong } = await numberProblems(page);
        expect(wrong).toEqual([]);
        // Wrong branches drawn in the highlight colour: as many as the JSON marks wrong (missed ones on the true tree).
        const tour = docs["tour.json"] as ReturnType<typeof makeTourFixture>;
        if (tour.grid.status !== "ok") throw new Error("fixture grid not ok");
        const highlighted = await page.$$eval(
          `[data-chart=grid-identified-tree] svg [stroke="${WRONG}"] path, [data-chart=grid-identified-tree] svg path[stroke="${WRONG}"]`,
          (p) => p.length,
        );
        expect(highlighted).toBe(tour.grid.identifiedTree.filter((e) => e.wrong).length);
        expect(await page.textContent("[data-testid=grid-tree-summary]")).toContain("692–684");
        // Spikes drawn = spikes in the JSON.
        if (tour.snn.status !== "ok") throw new Error("fixture snn not ok");
        const spikes = tour.snn.rasters.reduce((n, r) => n + r.spikes.flat().length, 0);
        expect(
          await page.$$eval("[data-chart=snn-raster] svg g[aria-label=tick] line", (l) => l.length),
        ).toBe(spikes);
        expect(await fitsWidth(page)).toBe(true);
        expect(problems).toEqual([]);
        await screenshots(page, `tour-${name}`);
        await page.close();
      }
    } finally {
      await server.close();
    }
  });

  /** What the Node API computes for a control setting: @x/merging's mergeFlat, @x/zoo's TensorFlow.js evaluation. */
  async function nodeAccuracy(method: LiveMethod, params: LiveMergeParams): Promise<number[]> {
    const call = liveMergeCall(method, params);
    const merged = mergeFlat(call.method, {
      layout: backboneLayout(bundle.arch),
      base: bundle.base,
      models: bundle.models,
      params: call.params,
    });
    const backbone = new Map(
      backboneLayout(bundle.arch).map((t) => [
        t.name,
        { shape: t.shape, data: merged.subarray(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1)) },
      ]),
    );
    return evaluateTasks(
      bundle.arch,
      backbone,
      bundle.heads.map((h, k) => ({
        head: {
          weight: { shape: [h.numClasses, h.weight.length / h.numClasses], data: h.weight },
          bias: { shape: [h.numClasses], data: h.bias },
        },
        data: bundle.test[k]!,
      })),
    );
  }

  interface LiveShown {
    run: number;
    mergeMs: number;
    evalMs: number;
    cells: { value: number; text: string; method: string; lambda: number; ratio: number | undefined }[];
  }

  /** Waits for the live panel to finish a computation after run `after`, then reads what it shows. */
  async function liveShown(page: Page, after: number): Promise<LiveShown> {
    await page.waitForFunction(
      (n) => {
        const s = document.querySelector<HTMLElement>("[data-testid=live-status]")!;
        return s.dataset.state === "done" && Number(s.dataset.run) > n;
      },
      after,
      { timeout: 60_000 },
    );
    return page.evaluate(() => {
      const s = document.querySelector<HTMLElement>("[data-testid=live-status]")!;
      return {
        run: Number(s.dataset.run),
        mergeMs: Number(s.dataset.mergeMs),
        evalMs: Number(s.dataset.evalMs),
        cells: [...document.querySelectorAll<HTMLElement>("[data-testid=live-acc]")].map((c) => ({
          value: Number(c.dataset.value),
          text: c.textContent ?? "",
          method: c.dataset.method ?? "",
          lambda: Number(c.dataset.lambda),
          ratio: c.dataset.ratio === undefined ? undefined : Number(c.dataset.ratio),
        })),
      };
    });
  }

  /** The shown accuracies equal the Node API's for the setting they carry (within 1e-6), as text too. */
  async function expectNodeEqual(shown: LiveShown, method: LiveMethod, params: LiveMergeParams) {
    for (const c of shown.cells) {
      expect(c.method).toBe(method);
      expect(c.lambda).toBeCloseTo(params.lambda, 12);
      expect(c.ratio).toBe(params.pcbRatio);
    }
    const node = await nodeAccuracy(method, params);
    expect(shown.cells).toHaveLength(node.length);
    shown.cells.forEach((c, i) => {
      expect(Math.abs(c.value - node[i]!), `${method} task ${i}`).toBeLessThanOrEqual(1e-6);
      expect(c.text).toBe((c.value * 100).toFixed(1));
    });
  }

  it("live panel: merges the zoo in the browser, equal to the Node API, and recomputes when a control moves", async () => {
    const server = await serveDemo({ dataDir: [liveDir, RESULTS], appDir });
    const timings: string[] = [];
    try {
      const { page, problems } = await open(server.url, VIEWPORTS.laptop);
      const names = await page.$$eval("#live [data-testid=live-table] tbody th", (t) =>
        t.map((x) => x.textContent),
      );
      expect(names).toEqual(bundle.manifest.tasks.map((t) => t.name));
      expect(await page.isDisabled("[data-testid=live-ratio]")).toBe(true);
      // Merges run in the live worker, not in the page's thread.
      expect(await page.getAttribute("[data-testid=live-status]", "data-engine")).toBe("worker");
      // First computation: task arithmetic, λ = 1.
      let shown = await liveShown(page, 0);
      await expectNodeEqual(shown, "task_arithmetic", { lambda: 1 });
      const first = shown.cells.map((c) => c.value);
      timings.push(`task_arithmetic λ 1: merge ${shown.mergeMs} ms, eval ${shown.evalMs} ms`);
      // Move λ: the numbers change, and still equal the Node API.
      await page.fill("[data-testid=live-lambda]", "0.4");
      expect(await page.textContent("[data-testid=live-lambda-value]")).toBe("0.4");
      shown = await liveShown(page, shown.run);
      await expectNodeEqual(shown, "task_arithmetic", { lambda: 0.4 });
      expect(shown.cells.map((c) => c.value)).not.toEqual(first);
      timings.push(`task_arithmetic λ 0.4: merge ${shown.mergeMs} ms, eval ${shown.evalMs} ms`);
      // Another method.
      await page.selectOption("[data-testid=live-method]", "ties");
      shown = await liveShown(page, shown.run);
      await expectNodeEqual(shown, "ties", { lambda: 0.4 });
      timings.push(`ties λ 0.4: merge ${shown.mergeMs} ms, eval ${shown.evalMs} ms`);
      // PCB with its ratio control.
      await page.selectOption("[data-testid=live-method]", "pcb");
      shown = await liveShown(page, shown.run);
      expect(await page.isDisabled("[data-testid=live-ratio]")).toBe(false);
      await expectNodeEqual(shown, "pcb", { lambda: 0.4, pcbRatio: 0.1 });
      await page.selectOption("[data-testid=live-ratio]", "0.2");
      await page.fill("[data-testid=live-lambda]", "1.3");
      shown = await liveShown(page, shown.run);
      await expectNodeEqual(shown, "pcb", { lambda: 1.3, pcbRatio: 0.2 });
      timings.push(`pcb λ 1.3 r 0.2: merge ${shown.mergeMs} ms, eval ${shown.evalMs} ms`);
      expect(await page.textContent("[data-testid=live-status]")).toMatch(
        /^PCB-Merging, λ 1\.3, r 0\.2: average \d+\.\d %\. Merged in \d+ ms and scored in \d+ ms in this browser\.$/,
      );
      // The experts' own accuracies, as the bundle records them.
      expect(
        await page.$$eval("[data-testid=live-expert]", (c) =>
          c.map((x) => Number(x.getAttribute("data-value"))),
        ),
      ).toEqual(bundle.manifest.tasks.map((t) => t.expertTestSubset));
      expect(problems).toEqual([]);
      await (await page.$("#live"))!.screenshot({ path: join(OUTPUT, "live-merge-laptop.png") });
      await page.close();
      // The phone width shows the panel without overflow.
      const phone = await open(server.url, VIEWPORTS.phone);
      await liveShown(phone.page, 0);
      expect(await fitsWidth(phone.page)).toBe(true);
      expect(phone.problems).toEqual([]);
      await (await phone.page.$("#live"))!.screenshot({ path: join(OUTPUT, "live-merge-phone.png") });
      await phone.page.close();
      // A browser whose worker cannot start: the page loads the engine itself, same numbers.
      const noWorker = await browser.newPage({ viewport: VIEWPORTS.laptop });
      await noWorker.route(/live-worker-[^/]*\.js$/, (r) => r.abort());
      await noWorker.goto(server.url);
      await noWorker.waitForSelector("#app[data-ready=true]", { timeout: 30_000 });
      const inPage = await liveShown(noWorker, 0);
      expect(await noWorker.getAttribute("[data-testid=live-status]", "data-engine")).toBe("page");
      await expectNodeEqual(inPage, "task_arithmetic", { lambda: 1 });
      await noWorker.close();
    } finally {
      await server.close();
      writeFileSync(join(OUTPUT, "live-merge-timings.txt"), `${timings.join("\n")}\n`);
    }
  });

  it("live panel without a bundle: controls shown, says plainly that there is no bundle, requests nothing", async () => {
    const server = await serveDemo({ dataDir: RESULTS, appDir });
    try {
      const { page, problems } = await open(server.url, VIEWPORTS.laptop);
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      expect(await page.textContent("[data-testid=live-status]")).toMatch(/^No live-merge bundle is served/);
      expect(await page.getAttribute("[data-testid=live-status]", "data-state")).toBe("unavailable");
      for (const id of ["live-method", "live-lambda", "live-ratio"])
        expect(await page.isDisabled(`[data-testid=${id}]`)).toBe(true);
      const cells = await page.$$eval("[data-testid=live-acc]", (c) => c.map((x) => x.textContent));
      expect(cells).toHaveLength(8);
      expect(new Set(cells)).toEqual(new Set(["–"]));
      expect(requests.filter((u) => u.includes("live-merge"))).toEqual([]);
      expect(problems).toEqual([]);
      await (await page.$("#live"))!.screenshot({ path: join(OUTPUT, "live-laptop.png") });
      await page.close();
    } finally {
      await server.close();
    }
  });

  it("works as a static copy (--out) served by any static file server", async () => {
    const out = join(tmp, "site");
    const exported = await exportStaticDemo({ dataDir: [tourDir, liveDir, RESULTS], outDir: out, appDir });
    expect(exported.liveBundleFiles).toEqual(["manifest.json", "test.bin", "weights.bin"]);
    const plain = sirv(out);
    const http = createServer((req, res) =>
      plain(req, res, () => {
        res.writeHead(404).end();
      }),
    );
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    try {
      const { page, problems } = await open(
        `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
        VIEWPORTS.laptop,
      );
      expect(
        await page.$$eval("[data-panel] .panel-content", (els) =>
          els.map((e) => (e as HTMLElement).dataset.state),
        ),
      ).toEqual(["ok", "ok", "ok", "ok"]);
      expect((await numberProblems(page)).problems).toEqual([]);
      // The live panel computes from the copied bundle too.
      await expectNodeEqual(await liveShown(page, 0), "task_arithmetic", { lambda: 1 });
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      http.close();
    }
  });
});
