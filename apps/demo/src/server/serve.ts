import { createReadStream } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import sirv from "sirv";
import { checkAppDir, defaultAppDir } from "./app-dir.js";
import {
  findLiveBundleDir,
  isPlainBundleName,
  isPlainJsonName,
  LIVE_BUNDLE_DIR,
  listDataFiles,
  listLiveBundleFiles,
  resolveDataDirs,
} from "./data-dirs.js";
import { DemoServerError } from "./errors.js";

export interface ServeDemoOptions {
  /** Folder(s) whose `.json` files the page shows (the tour's output, `bench/results`); first wins on a name clash. */
  readonly dataDir: string | readonly string[];
  /** TCP port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Interface to listen on. Default 127.0.0.1 (this machine only). */
  readonly host?: string;
  /** Open the page in the default browser. Default false. */
  readonly open?: boolean;
  /** The built page; default `dist/page` of this package. */
  readonly appDir?: string;
  /** Stop cleanly on SIGINT (Ctrl-C) and SIGTERM, then resolve `closed`. Default false. */
  readonly stopOnSignals?: boolean;
  /** Where to say what happens (opening the browser failed, stopping on a signal). Default: nothing. */
  readonly log?: (line: string) => void;
}

export interface DemoServer {
  /** e.g. `http://127.0.0.1:4173/` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends open connections; resolves when the port is free. Safe to call twice. */
  close(): Promise<void>;
  /** Resolves once the server has stopped (by `close()` or a signal). */
  readonly closed: Promise<void>;
}

const SECURITY_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };

/**
 * Serves the built demo page with the data folders under `/data/`: `/data/index.json` lists the files,
 * `/data/<name>.json` returns one, `/data/live-merge/<name>.{json,bin}` a file of the live-merge bundle
 * (of the first data folder that has one). Resolves once the server listens.
 */
export async function serveDemo(options: ServeDemoOptions): Promise<DemoServer> {
  const appDir = options.appDir ?? defaultAppDir();
  checkAppDir(appDir);
  const dataDirs = resolveDataDirs(options.dataDir);
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? (() => {});
  const page = sirv(appDir, {
    etag: true,
    dev: false,
    setHeaders: (res) => setHeaders(res, SECURITY_HEADERS),
  });

  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path.startsWith(`/data/${LIVE_BUNDLE_DIR}/`)) {
      serveBundleFile(safeDecode(path.slice(`/data/${LIVE_BUNDLE_DIR}/`.length)), dataDirs, req, res);
      return;
    }
    if (path.startsWith("/data/")) {
      serveData(safeDecode(path.slice("/data/".length)), dataDirs, req, res);
      return;
    }
    page(req, res, () => {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    });
  });

  const port = await listen(server, options.port ?? 0, host);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/`;

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the demo server`);
    void close();
  };
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      if (options.stopOnSignals) {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(resolveClosed);
    return closing;
  };
  if (options.stopOnSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  if (options.open) await openBrowser(url, log);
  return { url, port, close, closed };
}

function setHeaders(res: ServerResponse, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
}

/** The decoded path segment; a malformed escape decodes to "" (then nothing matches: 404). */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return "";
  }
}

function notFound(res: ServerResponse, what: string): void {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`no ${what}\n`);
}

/** Streams one file to a GET (headers only for HEAD). */
function sendFile(path: string, type: string, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(path)
    .on("error", () => res.destroy())
    .pipe(res);
}

/** `/data/live-merge/<name>`: a file of the first data folder's live-merge bundle (`.json` / `.bin`). */
function serveBundleFile(
  name: string,
  dataDirs: readonly string[],
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const bundle = isPlainBundleName(name) ? findLiveBundleDir(dataDirs) : undefined;
  const file = bundle ? listLiveBundleFiles(bundle).find((f) => f.name === name) : undefined;
  if (!file) {
    notFound(res, `live-merge bundle file ${name}`);
    return;
  }
  const type = name.endsWith(".json") ? "application/json; charset=utf-8" : "application/octet-stream";
  sendFile(file.path, type, req, res);
}

function serveData(
  name: string,
  dataDirs: readonly string[],
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const json = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };
  if (name === "index.json") {
    const body = JSON.stringify({
      files: listDataFiles(dataDirs).map((f) => f.name),
      liveBundle: findLiveBundleDir(dataDirs) !== undefined,
    });
    res.writeHead(200, json).end(req.method === "HEAD" ? undefined : body);
    return;
  }
  const file = isPlainJsonName(name) ? listDataFiles(dataDirs).find((f) => f.name === name) : undefined;
  if (!file) {
    notFound(res, `data file ${name}`);
    return;
  }
  sendFile(file.path, json["content-type"], req, res);
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (e.code === "EADDRINUSE")
        reject(
          new DemoServerError(`port ${port} on ${host} is in use (choose another port, or 0 for a free one)`),
        );
      else if (e.code === "EACCES")
        reject(
          new DemoServerError(
            `no permission to listen on port ${port} of ${host} (ports below 1024 need root)`,
          ),
        );
      else reject(new DemoServerError(`cannot listen on ${host}:${port}: ${e.message}`));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

async function openBrowser(url: string, log: (line: string) => void): Promise<void> {
  try {
    const { default: open } = await import("open");
    const child = await open(url);
    child.once("error", (e) => log(`could not open a browser (${e.message}); open ${url} by hand`));
    child.unref();
  } catch (e) {
    log(`could not open a browser (${e instanceof Error ? e.message : String(e)}); open ${url} by hand`);
  }
}
