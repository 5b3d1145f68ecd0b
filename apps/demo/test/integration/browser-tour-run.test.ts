// End to end on a real tour: the built CLI runs `x demo --quick --no-open --port 0` (the tour, then the page it
// serves: this package's built dist/page), chromium opens the printed URL, and every number the page shows is
// compared with the tour.json that run wrote (and the committed results). Ctrl-C (SIGINT) then stops it with
// exit 0. Needs `pnpm build` (CLI and page) and chromium; outside CI it skips without them, in CI it fails.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTourResult, type TourResult } from "../../src/data/tour-schema.js";
import {
  chartProblems,
  fitsWidth,
  HAVE_CHROMIUM,
  launchChromium,
  numberProblems,
  OUTPUT,
  openPage,
  RESULTS,
  requireChromium,
  screenshots,
  VIEWPORTS,
  WRONG,
} from "../helpers/browser.js";

const CLI = fileURLToPath(new URL("../../../cli/dist/bin.js", import.meta.url));
const PAGE = fileURLToPath(new URL("../../dist/page/index.html", import.meta.url));
const READY = existsSync(CLI) && existsSync(PAGE);
requireChromium();
if (!READY) {
  const how = `the tour-run browser test needs the built CLI and page (${CLI}, ${PAGE}): run pnpm build`;
  if (process.env.CI) throw new Error(how);
  console.warn(`skipping: ${how}`);
}

describe.skipIf(!HAVE_CHROMIUM || !READY)("demo page on a real x demo --quick run, in chromium", () => {
  const tmp = mkdtempSync(join(tmpdir(), "x-demo-tour-run-"));
  const work = join(tmp, "work");
  let browser: Browser;
  let child: ChildProcess;
  let out = "";
  let err = "";
  let url = "";
  let exited: Promise<number | null>;
  const docs: Record<string, unknown> = {};

  beforeAll(async () => {
    child = spawn(process.execPath, [CLI, "demo", "--quick", "--no-open", "--port", "0", "--work", work], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    exited = new Promise((r) => child.on("close", (code) => r(code)));
    const deadline = Date.now() + 240_000;
    const URL_LINE = /the demo page: (http:\S+)/;
    while (!URL_LINE.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`x demo gave no URL:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    url = URL_LINE.exec(out)![1]!;
    docs["tour.json"] = JSON.parse(readFileSync(join(work, "data", "tour.json"), "utf8"));
    for (const f of [
      "merging-8task.json",
      "merging-8task-sgd.json",
      "evolver.json",
      "evolver-lambda-check.json",
      "grid.json",
    ])
      docs[f] = JSON.parse(readFileSync(join(RESULTS, f), "utf8"));
    mkdirSync(OUTPUT, { recursive: true });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) child.kill("SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
  });

  it("shows the run's own numbers in every panel, at laptop and phone width", async () => {
    const tour: TourResult = parseTourResult(docs["tour.json"]);
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const { page, problems } = await openPage(browser, url, viewport);
      const states = await page.$$eval("[data-panel] .panel-content", (els) =>
        Object.fromEntries(
          els.map((e) => [
            e.closest("[data-panel]")!.getAttribute("data-panel"),
            (e as HTMLElement).dataset.state,
          ]),
        ),
      );
      expect(states).toEqual({ merging: "ok", evolution: "ok", snn: "ok", grid: "ok" });
      const sources = await page.$$eval("[data-panel] [data-testid=source]", (els) =>
        els.map((e) => e.textContent),
      );
      expect(sources).toHaveLength(4);
      for (const s of sources) expect(s).toMatch(/^Tour run tour\.json/);
      const charts = await page.$$eval("figure.chart", (f) => f.map((x) => x.getAttribute("data-chart")));
      for (const id of [
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
      ])
        expect(charts).toContain(id);
      expect(await chartProblems(page)).toEqual([]);
      const { count, problems: wrong } = await numberProblems(page, docs);
      expect(wrong).toEqual([]);
      expect(count).toBeGreaterThan(50);
      // The shown tour numbers are the run's: every one names tour.json.
      const fromTour = await page.$$eval("#merging [data-file], #snn [data-file], #grid [data-file]", (els) =>
        els.map((e) => e.getAttribute("data-file")),
      );
      expect(fromTour.length).toBeGreaterThan(0);
      expect(new Set(fromTour)).toEqual(new Set(["tour.json"]));
      if (tour.grid.status !== "ok" || tour.snn.status !== "ok") throw new Error("tour sections not run");
      const highlighted = await page.$$eval(
        `[data-chart=grid-identified-tree] svg [stroke="${WRONG}"] path, [data-chart=grid-identified-tree] svg path[stroke="${WRONG}"]`,
        (p) => p.length,
      );
      expect(highlighted).toBe(tour.grid.identifiedTree.filter((e) => e.wrong).length);
      const spikes = tour.snn.rasters.reduce((n, r) => n + r.spikes.flat().length, 0);
      expect(await page.$$eval("[data-chart=snn-raster] svg g[aria-label=tick] line", (l) => l.length)).toBe(
        spikes,
      );
      expect(await fitsWidth(page)).toBe(true);
      expect(problems).toEqual([]);
      await screenshots(page, `tour-run-${name}`);
      await page.close();
    }
  }, 120_000);

  it("Ctrl-C (SIGINT) stops x demo with exit 0", async () => {
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(err).toMatch(/stopping the demo server/);
  }, 30_000);
});
