import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DemoServerError } from "../src/server/errors.js";
import { exportStaticDemo } from "../src/server/export.js";
import { serveDemo } from "../src/server/serve.js";

const root = mkdtempSync(join(tmpdir(), "x-demo-server-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), body);
  }
  return dir;
}

// A stand-in for the built page: the server's job is the same whatever the page holds.
const app = folder("app", {
  "index.html": "<!doctype html><title>demo</title>",
  "assets/app.js": "console.log(1)",
});
const tour = folder("tour", { "tour.json": '{"from":"tour"}', "grid.json": '{"from":"tour"}' });
const bench = folder("bench", {
  "grid.json": '{"from":"bench"}',
  "evolver.json": "{}",
  "notes.md": "# no",
  ".hidden.json": "{}",
});

describe("serveDemo", () => {
  it("serves the page, the file list and the data files; first folder wins", async () => {
    const s = await serveDemo({ dataDir: [tour, bench], appDir: app });
    try {
      expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
      const page = await fetch(s.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>demo</title>");
      expect(page.headers.get("x-content-type-options")).toBe("nosniff");
      expect((await fetch(`${s.url}assets/app.js`)).headers.get("content-type")).toMatch(/javascript/);
      const index = await (await fetch(`${s.url}data/index.json`)).json();
      expect(index).toEqual({ files: ["evolver.json", "grid.json", "tour.json"] });
      expect(await (await fetch(`${s.url}data/grid.json`)).json()).toEqual({ from: "tour" });
      // A file written while the server runs shows up (the tour writes while the page is open).
      writeFileSync(join(bench, "late.json"), "[1]");
      expect(await (await fetch(`${s.url}data/late.json`)).json()).toEqual([1]);
    } finally {
      await s.close();
    }
  });

  it("refuses what is not a plain data file, and methods other than GET and HEAD", async () => {
    const s = await serveDemo({ dataDir: bench, appDir: app });
    try {
      for (const path of [
        "data/notes.md",
        "data/.hidden.json",
        "data/..%2Fapp%2Findex.html",
        "data/%2e%2e/tour/tour.json",
        "data/missing.json",
        "nope.html",
      ])
        expect((await fetch(`${s.url}${path}`)).status, path).toBe(404);
      expect((await fetch(s.url, { method: "POST" })).status).toBe(405);
    } finally {
      await s.close();
    }
  });

  it("closes cleanly (twice is fine) and frees the port", async () => {
    const s = await serveDemo({ dataDir: bench, appDir: app });
    await Promise.all([s.close(), s.close()]);
    await s.closed;
    const again = await serveDemo({ dataDir: bench, appDir: app, port: s.port });
    await again.close();
  });

  it("says what is wrong: port in use, page not built, data folder missing", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(serveDemo({ dataDir: bench, appDir: app, port })).rejects.toThrow(
        new DemoServerError(`port ${port} on 127.0.0.1 is in use (choose another port, or 0 for a free one)`),
      );
    } finally {
      blocker.close();
    }
    await expect(serveDemo({ dataDir: bench, appDir: join(root, "nowhere") })).rejects.toThrow(
      /the demo page is not built: .*nowhere\/index\.html is missing/,
    );
    await expect(serveDemo({ dataDir: join(root, "absent"), appDir: app })).rejects.toThrow(
      /data folder .*absent does not exist/,
    );
  });
});

describe("exportStaticDemo", () => {
  it("writes the page with its data and an index, and leaves no temporaries", async () => {
    const out = join(root, "exports", "site");
    const r = await exportStaticDemo({ dataDir: [tour, bench], outDir: out, appDir: app });
    // late.json was written by the first test while its server ran.
    expect(r.dataFiles).toEqual(["evolver.json", "grid.json", "late.json", "tour.json"]);
    expect(readFileSync(join(out, "index.html"), "utf8")).toContain("<title>demo</title>");
    expect(readFileSync(join(out, "assets/app.js"), "utf8")).toBe("console.log(1)");
    expect(JSON.parse(readFileSync(join(out, "data/grid.json"), "utf8"))).toEqual({ from: "tour" });
    expect(JSON.parse(readFileSync(join(out, "data/index.json"), "utf8")).files).toEqual(r.dataFiles);
    expect(readdirSync(join(root, "exports"))).toEqual(["site"]);
  });

  it("refuses a non-empty folder unless told to overwrite, and never writes into an input", async () => {
    const out = folder("busy", { "keep.txt": "mine" });
    await expect(exportStaticDemo({ dataDir: bench, outDir: out, appDir: app })).rejects.toThrow(
      /is not empty \(pass overwrite to replace it\)/,
    );
    expect(readFileSync(join(out, "keep.txt"), "utf8")).toBe("mine");
    await exportStaticDemo({ dataDir: bench, outDir: out, appDir: app, overwrite: true });
    expect(readdirSync(out).sort()).toEqual(["assets", "data", "index.html"]);
    await expect(
      exportStaticDemo({ dataDir: bench, outDir: join(bench, "site"), appDir: app }),
    ).rejects.toThrow(/overlaps the input/);
    await expect(
      exportStaticDemo({ dataDir: join(root, "exports"), outDir: root, appDir: app, overwrite: true }),
    ).rejects.toThrow(/overlaps the input/);
  });

  it("removes temporaries that a dead export left behind", async () => {
    const parent = folder("stale", {});
    mkdirSync(join(parent, "site.tmp-999999999-abc"));
    await exportStaticDemo({ dataDir: bench, outDir: join(parent, "site"), appDir: app });
    expect(readdirSync(parent)).toEqual(["site"]);
  });
});
