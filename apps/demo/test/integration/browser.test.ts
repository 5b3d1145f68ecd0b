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
import { type Browser, chromium, type Page } from "playwright-core";
import sirv from "sirv";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
