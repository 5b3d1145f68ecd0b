// End to end in a real browser: build the page with Vite, serve it with serveDemo over real data, drive
// Debian's chromium with playwright-core, and compare every number the page shows with the JSON files.
// Screenshots go to apps/demo/test-output/ (ignored by git). Without chromium the test skips outside CI
// and fails in CI.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import sirv from "sirv";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportStaticDemo } from "../../src/server/export.js";
import { serveDemo } from "../../src/server/serve.js";
import { makeTourFixture } from "../fixtures/make-tour.js";
import {
  chartProblems,
  committedDocs,
  fitsWidth,
  HAVE_CHROMIUM,
  launchChromium,
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
  let browser: Browser;
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

  it("shows the live panel's controls and says plainly that it computes nothing in this build", async () => {
    const server = await serveDemo({ dataDir: RESULTS, appDir });
    try {
      const { page, problems } = await open(server.url, VIEWPORTS.laptop);
      expect(await page.textContent("[data-testid=live-status]")).toMatch(
        /^Live panel not available in this build/,
      );
      for (const id of ["live-method", "live-lambda", "live-ratio"])
        expect(await page.isDisabled(`[data-testid=${id}]`)).toBe(true);
      const cells = await page.$$eval("[data-testid=live-acc]", (c) => c.map((x) => x.textContent));
      expect(cells).toHaveLength(8);
      expect(new Set(cells)).toEqual(new Set(["–"]));
      expect(problems).toEqual([]);
      await (await page.$("#live"))!.screenshot({ path: join(OUTPUT, "live-laptop.png") });
      await page.close();
    } finally {
      await server.close();
    }
  });

  it("works as a static copy (--out) served by any static file server", async () => {
    const out = join(tmp, "site");
    await exportStaticDemo({ dataDir: [tourDir, RESULTS], outDir: out, appDir });
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
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      http.close();
    }
  });
});
