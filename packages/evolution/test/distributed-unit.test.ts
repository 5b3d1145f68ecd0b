// Parts of @x/evolution/distributed that need no Redis: URLs and secrets, payload keys, fitness encoding.
import { describe, expect, it } from "vitest";
import { RedisConfigError, redactRedisUrl, runIdFrom, validateRunId } from "../src/distributed/index.js";
import { candidateKey, decodeFitness, encodeFitness } from "../src/distributed/payload.js";
import { resolveRedis } from "../src/distributed/redis.js";
import { evaluatorSpecHash } from "../src/evaluator.js";
import { loadEvaluator } from "../src/index.js";

describe("Redis URLs", () => {
  it("parses user, password, host, port, db; rediss:// turns TLS on with the host as server name", () => {
    const r = resolveRedis("rediss://alice:p%40ss-w0rd@queue.example.org:6380/2");
    expect(r.options).toMatchObject({
      host: "queue.example.org",
      port: 6380,
      db: 2,
      username: "alice",
      password: "p@ss-w0rd",
      maxRetriesPerRequest: null,
      tls: { servername: "queue.example.org" },
    });
    expect(r.redacted).toBe("rediss://alice:***@queue.example.org:6380/2");
    expect(resolveRedis("redis://h").options).toMatchObject({ host: "h", port: 6379, db: 0 });
    expect((resolveRedis("redis://h").options as { tls?: unknown }).tls).toBeUndefined();
  });

  it("takes a CA (PEM text) and a password kept out of the URL", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const r = resolveRedis({ url: "rediss://h:7000", password: "from-a-file", ca: pem });
    expect(r.options).toMatchObject({ password: "from-a-file", tls: { servername: "h", ca: pem } });
    expect(r.scrub("auth from-a-file failed")).toBe("auth *** failed");
  });

  it("scrubs the password and the full URL from any text, and errors never show it", () => {
    const url = "redis://:hunter2-secret@10.0.0.5:6379";
    const r = resolveRedis(url);
    expect(r.scrub(`cannot connect to ${url}: WRONGPASS for hunter2-secret`)).toBe(
      "cannot connect to redis://:***@10.0.0.5:6379: WRONGPASS for ***",
    );
    for (const bad of [
      "http://:hunter2-secret@h",
      "redis://:hunter2-secret@h:99999",
      "redis://:hunter2-secret@h/x",
    ]) {
      let msg = "";
      try {
        resolveRedis(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(RedisConfigError);
        msg = (e as Error).message;
      }
      expect(msg).not.toBe("");
      expect(msg).not.toContain("hunter2-secret");
    }
    expect(() => resolveRedis("not a url :hunter2-secret")).toThrow(/not a URL/);
    expect(redactRedisUrl("redis://u:pw12345@h:1")).toBe("redis://u:***@h:1");
    expect(redactRedisUrl("nonsense")).toBe("(unparseable Redis URL)");
  });
});

describe("run ids", () => {
  it("validates and derives stable, distinct ids", () => {
    expect(() => validateRunId("a:b")).toThrow(RedisConfigError);
    expect(() => validateRunId("")).toThrow(RedisConfigError);
    validateRunId("run-1.A_b");
    const a = runIdFrom("/data/out/evolve run", "config-hash");
    expect(a).toMatch(/^data-out-evolve-run-[0-9a-f]{12}$/);
    expect(runIdFrom("/data/out/evolve run", "config-hash")).toBe(a);
    expect(runIdFrom("/data/out/evolve run", "other")).not.toBe(a);
    validateRunId(a);
    // a long path is cut to its last 40 characters, which must not start with a separator
    validateRunId(runIdFrom("/tmp/x-cli-snn-redis-9WLXCX/remote.safetensors"));
  });
});

describe("payloads", () => {
  it("fitness text round-trips every double, -0 and non-finite values included", () => {
    for (const v of [0, -0, 1.5, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE, Math.PI, Infinity, -Infinity]) {
      expect(Object.is(decodeFitness(encodeFitness(v)), v)).toBe(true);
    }
    expect(decodeFitness(encodeFitness(Number.NaN))).toBeNaN();
  });

  it("candidate keys depend on the evaluator, dtype, bytes and info, and are BullMQ-safe", () => {
    const k = candidateKey("spec", "f32", "abc", { target: 1, generation: 2 });
    expect(k).toMatch(/^[0-9a-f]{40}$/);
    expect(candidateKey("spec", "f32", "abc", { target: 1, generation: 2 })).toBe(k);
    expect(candidateKey("spec2", "f32", "abc", { target: 1, generation: 2 })).not.toBe(k);
    expect(candidateKey("spec", "f64", "abc", { target: 1, generation: 2 })).not.toBe(k);
    expect(candidateKey("spec", "f32", "abd", { target: 1, generation: 2 })).not.toBe(k);
    expect(candidateKey("spec", "f32", "abc", { target: 2, generation: 2 })).not.toBe(k);
  });
});

describe("evaluator specs", () => {
  const mod = new URL("./fixtures/evaluators.mjs", import.meta.url).pathname;
  it("load the named factory with its options; the hash ignores key order", async () => {
    const ev = await loadEvaluator({ module: mod, export: "sphere", options: { center: 1 } });
    expect(await ev.fitness(new Float32Array([1, 3]), { target: 0, generation: 0 })).toBe(-4);
    expect(evaluatorSpecHash({ module: "m", options: { a: 1, b: 2 } })).toBe(
      evaluatorSpecHash({ module: "m", export: "default", options: { b: 2, a: 1 } }),
    );
  });
  it("refuse relative paths, missing modules and missing exports with clear errors", async () => {
    await expect(loadEvaluator({ module: "./x.mjs" })).rejects.toThrow(/relative path/);
    await expect(loadEvaluator({ module: "/nonexistent/evaluator.mjs" })).rejects.toThrow(
      /cannot load evaluator module \/nonexistent\/evaluator.mjs/,
    );
    await expect(loadEvaluator({ module: mod, export: "nope" })).rejects.toThrow(/no function export 'nope'/);
  });
});
