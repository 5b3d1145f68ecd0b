// A real redis-server for tests: started on a free port in a temporary directory, stopped afterwards.
// Outside CI a machine without redis-server skips these tests (with how to install it); in CI they must run.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const INSTALL_HINT =
  "redis-server not found: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_SERVER to its path";

export function redisServerBinary(): string | null {
  const fromEnv = process.env.REDIS_SERVER;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = join(dir, "redis-server");
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** True when the tests can run; in CI a missing server is an error, not a skip. */
export function redisAvailable(): boolean {
  const bin = redisServerBinary();
  if (bin) return true;
  if (process.env.CI === "true") throw new Error(`${INSTALL_HINT} (CI must run the Redis tests)`);
  console.warn(`skipping Redis tests: ${INSTALL_HINT}`);
  return false;
}

export function opensslAvailable(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  readonly password?: string;
  /** Serve TLS only (a self-signed CA and server certificate are generated with openssl). */
  readonly tls?: boolean;
}

export class RedisServer {
  private proc: ChildProcess | null = null;
  readonly dir: string;
  port = 0;
  /** PEM of the CA that signed the server certificate (TLS only). */
  ca?: string;
  caPath?: string;
  private constructor(private readonly o: RedisServerOptions) {
    this.dir = mkdtempSync(join(tmpdir(), "x-evo-redis-"));
  }

  static async start(o: RedisServerOptions = {}): Promise<RedisServer> {
    const s = new RedisServer(o);
    s.port = await freePort();
    if (o.tls) s.makeCertificates();
    await s.launch();
    return s;
  }

  /** redis:// or rediss:// URL with the password when there is one. */
  url(password = this.o.password): string {
    const auth = password ? `:${encodeURIComponent(password)}@` : "";
    return `${this.o.tls ? "rediss" : "redis"}://${auth}${this.o.tls ? "localhost" : "127.0.0.1"}:${this.port}`;
  }

  private makeCertificates(): void {
    const d = this.dir;
    const run = (args: string[]): void => {
      execFileSync("openssl", args, { cwd: d, stdio: "ignore" });
    };
    run([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=x-evo test CA",
    ]);
    run([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    ]);
    writeFileSync(join(d, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    run([
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ]);
    this.caPath = join(d, "ca.pem");
    this.ca = execFileSync("cat", [this.caPath], { encoding: "utf8" });
  }

  private async launch(): Promise<void> {
    const bin = redisServerBinary();
    if (!bin) throw new Error(INSTALL_HINT);
    // Configuration on stdin keeps the password off the process list.
    const conf = [
      "bind 127.0.0.1",
      `dir ${this.dir}`,
      'save ""',
      "appendonly no",
      "loglevel warning",
      'logfile ""',
      ...(this.o.password ? [`requirepass ${this.o.password}`] : []),
      ...(this.o.tls
        ? [
            "port 0",
            `tls-port ${this.port}`,
            `tls-cert-file ${join(this.dir, "server.pem")}`,
            `tls-key-file ${join(this.dir, "server.key")}`,
            `tls-ca-cert-file ${join(this.dir, "ca.pem")}`,
            "tls-auth-clients no",
          ]
        : [`port ${this.port}`]),
    ].join("\n");
    const proc = spawn(bin, ["-"], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc = proc;
    let log = "";
    proc.stdout!.on("data", (d: Buffer) => {
      log += d.toString();
    });
    proc.stderr!.on("data", (d: Buffer) => {
      log += d.toString();
    });
    proc.stdin!.end(`${conf}\n`);
    const deadline = Date.now() + 15_000;
    while (!(await this.accepts())) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${log}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      import("node:net").then(({ connect }) => {
        const sock = connect(this.port, "127.0.0.1");
        sock.once("connect", () => {
          sock.destroy();
          resolve(true);
        });
        sock.once("error", () => resolve(false));
      });
    });
  }

  /** Stop the server (its data is lost: no persistence), as a crash or restart would. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  }

  async restart(downMs = 500): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
