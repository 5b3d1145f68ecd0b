// What the browser tests share: launching Debian's chromium with playwright-core, opening the page until it is
// drawn (recording requests that leave the server and console errors), reading back every shown number and
// checking it against its JSON, checking the charts' titles, axes and legends, and screenshots.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import type { TourResult } from "../../src/data/tour-schema.js";
import { checkNum, type NumAttrs } from "./resolve-num.js";

export const PKG = fileURLToPath(new URL("../../", import.meta.url));
export const RESULTS = fileURLToPath(new URL("../../../../bench/results/", import.meta.url));
export const OUTPUT = join(PKG, "test-output");
export const CHROMIUM = process.env.X_CHROMIUM ?? "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const WRONG = "#D55E00";
export const VIEWPORTS = {
  laptop: { width: 1366, height: 900 },
  phone: { width: 390, height: 844 },
} as const;
export type Viewport = { readonly width: number; readonly height: number };

/** The committed result files the page's panels read, parsed, by file name. */
export function committedDocs(): Record<string, unknown> {
  const files = [
    "merging-8task.json",
    "merging-8task-sgd.json",
    "evolver.json",
    "evolver-lambda-check.json",
    "grid.json",
  ];
  return Object.fromEntries(files.map((f) => [f, JSON.parse(readFileSync(join(RESULTS, f), "utf8"))]));
}

/** Without chromium: fail in CI, else say how to install it (the caller skips). */
export function requireChromium(): void {
  if (HAVE_CHROMIUM) return;
  const how = `browser test needs chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set X_CHROMIUM)`;
  if (process.env.CI) throw new Error(how);
  console.warn(`skipping: ${how}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** Opens the page, records requests that leave the server and errors, and waits until it is drawn. */
export async function openPage(browser: Browser, url: string, viewport: Viewport) {
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

export async function shownNumbers(page: Page, scope = "#app"): Promise<NumAttrs[]> {
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
export async function chartProblems(page: Page): Promise<string[]> {
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

/** Every shown number against its JSON document (`docs` by file name). */
export async function numberProblems(
  page: Page,
  docs: Record<string, unknown>,
): Promise<{ count: number; problems: string[] }> {
  const nums = await shownNumbers(page);
  return { count: nums.length, problems: nums.flatMap((n) => checkNum(n, docs)) };
}

/** The whole page, and each panel on its own (easier to look at). */
export async function screenshots(page: Page, prefix: string): Promise<void> {
  await page.screenshot({ path: join(OUTPUT, `${prefix}.png`), fullPage: true });
  for (const id of ["merging", "evolution", "snn", "grid", "live"])
    await (await page.$(`#${id}`))!.screenshot({ path: join(OUTPUT, `${prefix}-${id}.png`) });
}

export async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

/** Each panel's state ("ok", "empty", ...) by panel id. */
export async function panelStates(page: Page): Promise<Record<string, string | undefined>> {
  return page.$$eval("[data-panel] .panel-content", (els) =>
    Object.fromEntries(
      els.map((e) => [
        e.closest("[data-panel]")!.getAttribute("data-panel"),
        (e as HTMLElement).dataset.state,
      ]),
    ),
  );
}

/** Charts every panel draws for a tour with all four sections. */
export const TOUR_CHARTS = [
  "merging-per-task",
  "merging-task-count",
  "evolution-fitness",
  "evolution-cade-schedule",
  "snn-raster",
  "snn-membrane",
  "snn-arms",
  "grid-true-tree",
  "grid-identified-tree",
  "grid-branch-errors",
];

/** What the page draws from a tour: each panel's source line, the charts, wrong branches in the highlight colour, spikes. */
export async function tourDrawing(page: Page) {
  return {
    sources: await page.$$eval("[data-panel] [data-testid=source]", (els) => els.map((e) => e.textContent)),
    charts: await page.$$eval("figure.chart", (f) => f.map((x) => x.getAttribute("data-chart"))),
    wrongBranches: await page.$$eval(
      `[data-chart=grid-identified-tree] svg [stroke="${WRONG}"] path, [data-chart=grid-identified-tree] svg path[stroke="${WRONG}"]`,
      (p) => p.length,
    ),
    spikes: await page.$$eval("[data-chart=snn-raster] svg g[aria-label=tick] line", (l) => l.length),
  };
}

/** The same counts in the tour's JSON: branches marked wrong, spikes in the rasters. */
export function tourCounts(tour: TourResult): { wrongBranches: number; spikes: number } {
  if (tour.grid.status !== "ok" || tour.snn.status !== "ok")
    throw new Error("the tour's grid or SNN section did not run");
  return {
    wrongBranches: tour.grid.identifiedTree.filter((e) => e.wrong).length,
    spikes: tour.snn.rasters.reduce((n, r) => n + r.spikes.flat().length, 0),
  };
}

/** What the live panel shows after a computation: its run number, timings and per-task accuracy cells. */
export interface LiveShown {
  run: number;
  mergeMs: number;
  evalMs: number;
  cells: { value: number; text: string; method: string; lambda: number; ratio: number | undefined }[];
}

/** Waits for the live panel to finish a computation after its run number `after`, then reads what it shows. */
export async function liveShown(page: Page, after: number): Promise<LiveShown> {
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
