// End to end in a real browser: build the page with Vite, serve it with serveDemo over real data, drive
// Debian's chromium with playwright-core, and compare every number the page shows with the JSON files.
// Screenshots go to apps/demo/test-output/ (ignored by git). Without chromium the test skips outside CI
// and fails in CI.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeFlat } from "@x/merging";
import {
  backboneLayout,
  evaluateTasks,
  type LiveBundle,
  quickZooConfig,
  readLiveMergeBundle,
  writeLiveMergeBundle,
} from "@x/zoo";
import type { Browser, Page } from "playwright-core";
import sirv from "sirv";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveMergeParams, type LiveMethod, liveMergeCall } from "../../src/live/live-settings.js";
import { exportStaticDemo } from "../../src/server/export.js";
import { serveDemo } from "../../src/server/serve.js";
import { makeTourFixture } from "../fixtures/make-tour.js";
import {
  chartProblems,
  committedDocs,
  fitsWidth,
  HAVE_CHROMIUM,
  type LiveShown,
  launchChromium,
  liveShown,
  OUTPUT,
  openPage,
  PKG,
  numberProblems as pageNumberProblems,
  panelStates,
  RESULTS,
  requireChromium,
  screenshots,
  shownNumbers,
  TOUR_CHARTS,
  tourCounts,
  tourDrawing,
  VIEWPORTS,
  type Viewport,
} from "../helpers/browser.js";

requireChromium();

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
    Object.assign(docs, committedDocs());
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
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const open = (url: string, viewport: Viewport) => openPage(browser, url, viewport);
  const numberProblems = (page: Page) => pageNumberProblems(page, docs);

  it("shows the committed results: every panel, every number equal to its JSON, at laptop and phone width", async () => {
    const server = await serveDemo({ dataDir: RESULTS, appDir });
    try {
      for (const [name, viewport] of Object.entries(VIEWPORTS)) {
        const { page, problems } = await open(server.url, viewport);
        const states = await panelStates(page);
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
        const drawn = await tourDrawing(page);
        expect(drawn.sources).toHaveLength(4);
        for (const s of drawn.sources) expect(s).toMatch(/^Tour run tour\.json/);
        for (const id of TOUR_CHARTS) expect(drawn.charts).toContain(id);
        expect(await chartProblems(page)).toEqual([]);
        const { problems: wrong } = await numberProblems(page);
        expect(wrong).toEqual([]);
        // Wrong branches drawn in the highlight colour: as many as the JSON marks wrong; spikes drawn = spikes in the JSON.
        const counts = tourCounts(docs["tour.json"] as ReturnType<typeof makeTourFixture>);
        expect(drawn.wrongBranches).toBe(counts.wrongBranches);
        expect(await page.textContent("[data-testid=grid-tree-summary]")).toContain("692–684");
        expect(drawn.spikes).toBe(counts.spikes);
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
