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

// Two data folders with a live-merge bundle each: the first one's is served, whole.
const bin = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 256);
const liveA = folder("live-a", {
  "tour.json": "{}",
  "live-merge/manifest.json": '{"from":"a"}',
  "live-merge/notes.txt": "no",
  "live-merge/.hidden.bin": "no",
  "live-merge/sub/deep.bin": "no",
});
writeFileSync(join(liveA, "live-merge", "weights.bin"), bin);
const liveB = folder("live-b", {
  "live-merge/manifest.json": '{"from":"b"}',
  "live-merge/other.bin": "b",
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
      expect(index).toEqual({ files: ["evolver.json", "grid.json", "tour.json"], liveBundle: false });
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

  it("serves the live-merge bundle of the first data folder that has one, GET and HEAD", async () => {
    const s = await serveDemo({ dataDir: [bench, liveA, liveB], appDir: app });
    try {
      const manifest = await fetch(`${s.url}data/live-merge/manifest.json`);
      expect(manifest.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(await manifest.json()).toEqual({ from: "a" });
      const weights = await fetch(`${s.url}data/live-merge/weights.bin`);
      expect(weights.status).toBe(200);
      expect(weights.headers.get("content-type")).toBe("application/octet-stream");
      expect(new Uint8Array(await weights.arrayBuffer())).toEqual(bin);
      const head = await fetch(`${s.url}data/live-merge/weights.bin`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      // The bundle is taken whole from one folder: the second folder's files are not mixed in.
      expect((await fetch(`${s.url}data/live-merge/other.bin`)).status).toBe(404);
      // Not a data file of the JSON list either.
      expect(await (await fetch(`${s.url}data/index.json`)).json()).toEqual({
        files: ["evolver.json", "grid.json", "late.json", "tour.json"],
        liveBundle: true,
      });
    } finally {
      await s.close();
    }
  });

  it("refuses anything in the bundle route but its plain .json / .bin files", async () => {
    const s = await serveDemo({ dataDir: [liveA], appDir: app });
    try {
      for (const path of [
        "data/live-merge/notes.txt",
        "data/live-merge/.hidden.bin",
        "data/live-merge/sub/deep.bin",
        "data/live-merge/sub%2Fdeep.bin",
        "data/live-merge/..%2Ftour.json",
        "data/live-merge/..%2F..%2Flive-a%2Ftour.json",
        "data/live-merge/..",
        "data/live-merge/",
        "data/live-merge/missing.bin",
        "data/live-merge/%E0%A4%A.bin",
        "data/%E0%A4%A.json",
      ])
        expect((await fetch(`${s.url}${path}`)).status, path).toBe(404);
      expect((await fetch(`${s.url}data/live-merge/weights.bin`, { method: "PUT" })).status).toBe(405);
      expect((await fetch(`${s.url}data/live-merge/weights.bin`, { method: "DELETE" })).status).toBe(405);
    } finally {
      await s.close();
    }
    // Without a bundle in any folder: 404 (the page then says the panel has no bundle).
    const none = await serveDemo({ dataDir: bench, appDir: app });
    try {
      expect((await fetch(`${none.url}data/live-merge/manifest.json`)).status).toBe(404);
    } finally {
      await none.close();
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

  it("copies the live-merge bundle of the first folder that has one, and only its plain files", async () => {
    const out = join(root, "exports-live", "site");
    const r = await exportStaticDemo({ dataDir: [bench, liveA, liveB], outDir: out, appDir: app });
    expect(r.liveBundleFiles).toEqual(["manifest.json", "weights.bin"]);
    expect(JSON.parse(readFileSync(join(out, "data/index.json"), "utf8")).liveBundle).toBe(true);
    expect(readdirSync(join(out, "data", "live-merge")).sort()).toEqual(["manifest.json", "weights.bin"]);
    expect(new Uint8Array(readFileSync(join(out, "data/live-merge/weights.bin")))).toEqual(bin);
    const plain = await exportStaticDemo({
      dataDir: bench,
      outDir: join(root, "exports-live", "plain"),
      appDir: app,
    });
    expect(plain.liveBundleFiles).toEqual([]);
    expect(
      JSON.parse(readFileSync(join(root, "exports-live", "plain", "data/index.json"), "utf8")).liveBundle,
    ).toBe(false);
    expect(readdirSync(join(root, "exports-live", "plain", "data"))).not.toContain("live-merge");
  });

  it("removes temporaries that a dead export left behind", async () => {
    const parent = folder("stale", {});
    mkdirSync(join(parent, "site.tmp-999999999-abc"));
    await exportStaticDemo({ dataDir: bench, outDir: join(parent, "site"), appDir: app });
    expect(readdirSync(parent)).toEqual(["site"]);
  });
});
