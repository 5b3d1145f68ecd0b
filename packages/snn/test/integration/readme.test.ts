import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("the README example runs", async () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const file = fileURLToPath(new URL(`./readme-example-${process.pid}.ts`, import.meta.url));
  writeFileSync(file, code!);
  const logs: unknown[][] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => logs.push(a);
  try {
    await import(file);
  } finally {
    console.log = log;
    rmSync(file, { force: true });
  }
  const last = logs.at(-1)!;
  expect(last[0]).toBeGreaterThan(0.3);
  expect(last[1]).toMatch(/^[0-9a-f]{64}$/);
}, 300_000);
