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
  committedDocs,
  fitsWidth,
  HAVE_CHROMIUM,
  launchChromium,
  liveShown,
  numberProblems,
  OUTPUT,
  openPage,
  panelStates,
  requireChromium,
  screenshots,
  TOUR_CHARTS,
  tourCounts,
  tourDrawing,
  VIEWPORTS,
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
    Object.assign(docs, committedDocs());
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
      const states = await panelStates(page);
      expect(states).toEqual({ merging: "ok", evolution: "ok", snn: "ok", grid: "ok" });
      const drawn = await tourDrawing(page);
      expect(drawn.sources).toHaveLength(4);
      for (const src of drawn.sources) expect(src).toMatch(/^Tour run tour\.json/);
      for (const id of TOUR_CHARTS) expect(drawn.charts).toContain(id);
      const counts = tourCounts(tour);
      expect(drawn.wrongBranches).toBe(counts.wrongBranches);
      expect(drawn.spikes).toBe(counts.spikes);
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
      expect(await fitsWidth(page)).toBe(true);
      expect(problems).toEqual([]);
      await screenshots(page, `tour-run-${name}`);
      await page.close();
    }
  }, 120_000);

  it("the live panel merges the run's zoo in the browser and recomputes when λ moves", async () => {
    const tour: TourResult = parseTourResult(docs["tour.json"]);
    const tasks = tour.merging.status === "ok" ? tour.merging.tasks : [];
    const { page, problems } = await openPage(browser, url, VIEWPORTS.laptop);
    const first = await liveShown(page, 0);
    const names = await page.$$eval("#live [data-testid=live-table] tbody th", (t) =>
      t.map((e) => e.textContent?.trim() ?? ""),
    );
    expect(names).toHaveLength(tasks.length);
    expect(first.cells.map((c) => c.value)).toHaveLength(tasks.length);
    for (const v of first.cells.map((c) => c.value)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    await page.fill("[data-testid=live-lambda]", "0.1");
    const next = await liveShown(page, first.run);
    expect(next.cells.map((c) => c.value)).not.toEqual(first.cells.map((c) => c.value));
    expect(problems).toEqual([]);
    await (await page.$("#live"))!.screenshot({ path: join(OUTPUT, "tour-run-live.png") });
    await page.close();
  }, 120_000);

  it("Ctrl-C (SIGINT) stops x demo with exit 0", async () => {
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(err).toMatch(/stopping the demo server/);
  }, 30_000);
});
