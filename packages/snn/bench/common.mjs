// Shared helpers of the @x/snn benchmarks: medians, machine description, atomic result files.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../../", import.meta.url));
export const dist = new URL("../dist/index.js", import.meta.url).href;

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function machine() {
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? "unknown",
    node: process.version,
    loadavg: os.loadavg(),
  };
}

export function writeResults(name, json, md) {
  const dir = `${root}bench/results`;
  mkdirSync(dir, { recursive: true });
  for (const [ext, text] of [
    ["json", `${JSON.stringify(json, null, 1)}\n`],
    ["md", md],
  ]) {
    const path = `${dir}/${name}.${ext}`;
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  console.log(`wrote bench/results/${name}.{json,md}`);
}
