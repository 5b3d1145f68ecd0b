// I/O benchmarks for @x/tensor-core, run from the built dist/:
//   1. write a >= 1 GB multi-tensor safetensors file with the streaming writer vs a plain sequential fs write
//      of the same bytes (same chunk size);
//   2. read it back tensor by tensor (read, readFloat32, readChunks) vs a plain sequential fs read;
//   3. BF16 <-> F32 and F16 <-> F32 codec throughput;
//   4. peak RSS of streaming the 1 GiB file (read every tensor; convert F32 -> BF16) in a child process,
//      against a 256 MiB budget (the file is 4x the budget).
// Every cell runs in its own child process so RSS is that cell's own peak. The page cache is warm for reads
// (the file was just written; dropping caches needs root), so read numbers are memory-bound, not disk-bound.
// Results: bench/results/tensor-core-io.{json,md} at the repo root. Temp files under /tmp, deleted at the end.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/", import.meta.url);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TENSORS = Number(process.env.BENCH_IO_TENSORS ?? 64);
const TENSOR_BYTES = 16 << 20; // 16 MiB per tensor -> 64 tensors = 1 GiB of data
const CHUNK = 16 << 20;
const FSYNC_RUNS = Number(process.env.BENCH_FSYNC_RUNS ?? 3);
const READ_RUNS = Number(process.env.BENCH_READ_RUNS ?? 9);
const SHM_RUNS = Number(process.env.BENCH_SHM_RUNS ?? 11);
const CODEC_N = Number(process.env.BENCH_CODEC_N ?? 32 << 20); // 32 Mi elements = 128 MiB of float32
const BUDGET = 256 << 20;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const now = () => performance.now();
const gbps = (bytes, ms) => bytes / 1e9 / (ms / 1000);

function specs() {
  // Alternating 2-D shapes so the file is a realistic multi-tensor checkpoint.
  const out = [];
  for (let i = 0; i < TENSORS; i++) {
    const cols = i % 2 === 0 ? 4096 : 1024;
    out.push({
      name: `model.layers.${String(i).padStart(3, "0")}.weight`,
      dtype: "F32",
      shape: [TENSOR_BYTES / 4 / cols, cols],
    });
  }
  return out;
}

function payload(seed) {
  const a = new Float32Array(TENSOR_BYTES / 4);
  let x = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    a[i] = (x / 4294967296 - 0.5) * 0.02;
  }
  return a;
}

// ---------------------------------------------------------------- cells (child processes)
async function cell(name, file) {
  const tc = await import(new URL("index.js", dist).href);
  const times = [];
  const out = { name, times };
  const total = TENSORS * TENSOR_BYTES;

  if (name === "write") {
    // Contenders alternate run by run so page-cache writeback and load from other jobs hit both alike.
    const data = payload(1);
    const bytes = new Uint8Array(data.buffer);
    const res = {
      fs: [],
      safetensors: [],
      "fs-shm": [],
      "safetensors-shm": [],
      "fs-fsync": [],
      "safetensors-durable": [],
    };
    const pairs = [];
    for (let run = 0; run < RUNS; run++)
      pairs.push(run % 2 === 0 ? ["fs", "safetensors"] : ["safetensors", "fs"]);
    // tmpfs (/dev/shm): no disk and no writeback, so this pair measures the software path alone.
    const shm = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/tc-io-bench-") : null;
    if (shm !== null) {
      for (let run = 0; run < SHM_RUNS; run++) {
        pairs.push(run % 2 === 0 ? ["fs-shm", "safetensors-shm"] : ["safetensors-shm", "fs-shm"]);
      }
    }
    // With fsync both contenders wait for the disk: slower but far less sensitive to writeback state.
    for (let run = 0; run < FSYNC_RUNS; run++) {
      pairs.push(run % 2 === 0 ? ["fs-fsync", "safetensors-durable"] : ["safetensors-durable", "fs-fsync"]);
    }
    for (const pair of pairs) {
      for (const who of pair) {
        const target = who.endsWith("-shm") ? join(shm, `write-${who}`) : `${file}.write-${who}`;
        rmSync(target, { force: true });
        const t0 = now();
        if (who.startsWith("safetensors")) {
          await tc.writeSafetensors(target, specs(), () => data, { durable: who === "safetensors-durable" });
        } else {
          // Plain baseline: create, write the same bytes in the same chunk size, close.
          const fh = await open(target, "w");
          const header = new Uint8Array(4096);
          await fh.write(header, 0, header.length, 0);
          let pos = header.length;
          for (let i = 0; i < TENSORS; i++) {
            await fh.write(bytes, 0, bytes.length, pos);
            pos += bytes.length;
          }
          if (who === "fs-fsync") await fh.sync();
          await fh.close();
        }
        res[who].push(now() - t0);
        rmSync(target, { force: true });
      }
    }
    if (shm !== null) rmSync(shm, { recursive: true, force: true });
    out.contenders = Object.fromEntries(
      Object.entries(res)
        .filter(([, ts]) => ts.length > 0)
        .map(([k, ts]) => [k, { times: ts, medianMs: median(ts), gbps: gbps(total, median(ts)) }]),
    );
  } else if (name === "read") {
    const kinds = [
      "fs-reuse",
      "fs-fresh",
      "read",
      "readInto-reuse",
      "readFloat32",
      "readFloat32-reuse",
      "readChunks-reuse",
    ];
    const res = Object.fromEntries(kinds.map((k) => [k, []]));
    let check = 0;
    const reuse = new Uint8Array(TENSOR_BYTES);
    const reuseF = new Float32Array(TENSOR_BYTES / 4);
    // Warm-up pass for every contender (JIT), not timed.
    for (let run = -1; run < READ_RUNS; run++) {
      const order = run % 2 === 0 ? kinds : [...kinds].reverse();
      for (const who of order) {
        const t0 = now();
        if (who.startsWith("fs-")) {
          const fh = await open(file, "r");
          let pos = 0;
          while (true) {
            const buf = who === "fs-reuse" ? reuse : new Uint8Array(CHUNK);
            const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
            if (bytesRead === 0) break;
            check += buf[bytesRead - 1];
            pos += bytesRead;
          }
          await fh.close();
        } else {
          const f = await tc.openSafetensors(file);
          for (const n of f.names()) {
            if (who === "read") {
              const t = await f.read(n);
              check += t.data[t.data.length - 1];
            } else if (who === "readInto-reuse") {
              await f.readInto(n, reuse);
              check += reuse[reuse.length - 1];
            } else if (who === "readFloat32") {
              const a = await f.readFloat32(n);
              check += a[a.length - 1];
            } else if (who === "readFloat32-reuse") {
              const a = await f.readFloat32(n, reuseF);
              check += a[a.length - 1];
            } else {
              for await (const c of f.readChunks(n, CHUNK, reuse)) check += c[c.length - 1];
            }
          }
          await f.close();
        }
        if (run >= 0) res[who].push(now() - t0);
      }
    }
    out.check = check;
    out.contenders = Object.fromEntries(
      Object.entries(res).map(([k, ts]) => [
        k,
        { times: ts, medianMs: median(ts), gbps: gbps(total, median(ts)) },
      ]),
    );
  } else if (name === "codecs") {
    const r = new tc.Rng(3);
    const f = new Float32Array(CODEC_N);
    for (let i = 0; i < f.length; i++) f[i] = r.normal();
    const h = new Uint16Array(CODEC_N);
    const back = new Float32Array(CODEC_N);
    const res = {};
    // BF16 with and without the WebAssembly SIMD kernels (identical results); weightedDeltaSum is the
    // fused dense linear merge of 4 BF16 models onto a BF16 base (per output element).
    const js = (fn) => () => {
      tc.setSimdEnabled(false);
      try {
        return fn();
      } finally {
        tc.setSimdEnabled(true);
      }
    };
    const models = [0, 1, 2, 3].map(() => ({ dtype: "BF16", data: Uint16Array.from(h) }));
    const sum = () =>
      tc.weightedDeltaSum({ dtype: "BF16", data: h }, models, [1, 1, 1, 1], 0.3, { dtype: "BF16", data: h2 });
    const h2 = new Uint16Array(CODEC_N);
    tc.f32ToBf16(f, h);
    for (const [label, fn] of [
      ["f32ToBf16", () => tc.f32ToBf16(f, h)],
      ["f32ToBf16 (JS)", js(() => tc.f32ToBf16(f, h))],
      ["bf16ToF32", () => tc.bf16ToF32(h, back)],
      ["bf16ToF32 (JS)", js(() => tc.bf16ToF32(h, back))],
      ["weightedDeltaSum 4×BF16", sum],
      ["weightedDeltaSum 4×BF16 (JS)", js(sum)],
      ["f32ToF16", () => tc.f32ToF16(f, h2)],
      ["f16ToF32", () => tc.f16ToF32(h2, back)],
    ]) {
      fn();
      const ts = [];
      for (let run = 0; run < RUNS; run++) {
        const t0 = now();
        fn();
        ts.push(now() - t0);
      }
      // GB/s counted as float32 bytes (input for encode, output for decode), and elements/s.
      res[label] = {
        medianMs: median(ts),
        times: ts,
        gbpsF32: gbps(CODEC_N * 4, median(ts)),
        gelemPerS: CODEC_N / 1e9 / (median(ts) / 1000),
      };
    }
    out.codecs = res;
  } else if (name === "rss-read" || name === "rss-convert") {
    const base = process.memoryUsage().rss;
    let peak = base;
    const sample = () => {
      const rss = process.memoryUsage().rss;
      if (rss > peak) peak = rss;
    };
    const timer = setInterval(sample, 5);
    const t0 = now();
    if (name === "rss-read") {
      const f = await tc.openSafetensors(file);
      for (const n of f.names()) {
        const a = await f.readFloat32(n);
        sample();
        if (!(a.length > 0)) throw new Error("empty");
      }
      await f.close();
    } else {
      const outFile = `${file}.bf16.safetensors`;
      await tc.convertCheckpoint(file, outFile, { dtype: "BF16", chunkBytes: CHUNK, onProgress: sample });
      rmSync(outFile, { force: true });
    }
    times.push(now() - t0);
    clearInterval(timer);
    sample();
    out.baseRssMiB = base / 2 ** 20;
    out.peakRssMiB = peak / 2 ** 20;
    out.maxRssMiB = process.resourceUsage().maxRSS / 1024;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runCell(name, file) {
  const stdout = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--cell", name, file], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

// ---------------------------------------------------------------- orchestration
async function orchestrate() {
  const tc = await import(new URL("index.js", dist).href);
  const load = os.loadavg();
  const machine = {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvgAtStart: load.map((x) => +x.toFixed(2)),
    date: new Date().toISOString(),
  };
  console.log("machine", machine);
  const tmp = mkdtempSync(join(os.tmpdir(), "tc-io-bench-"));
  const file = join(tmp, "model.safetensors");
  const results = {
    machine,
    runs: RUNS,
    readRuns: READ_RUNS,
    fsyncRuns: FSYNC_RUNS,
    shmRuns: SHM_RUNS,
    codecN: CODEC_N,
    tensors: TENSORS,
    tensorBytes: TENSOR_BYTES,
    chunkBytes: CHUNK,
    budgetBytes: BUDGET,
  };
  try {
    // The shared read fixture: 64 distinct tensors (different contents) written once.
    const all = specs();
    await tc.writeSafetensors(file, all, (e) => payload(all.findIndex((s) => s.name === e.name) + 7));
    const { size } = await (await import("node:fs/promises")).stat(file);
    results.fileBytes = size;
    console.log(`fixture ${(size / 1e9).toFixed(3)} GB, ${TENSORS} tensors`);
    results.cells = {};
    for (const name of ["write", "read", "codecs", "rss-read", "rss-convert"]) {
      const r = runCell(name, file);
      results.cells[name] = r;
      console.log(
        name,
        JSON.stringify(
          r.contenders
            ? Object.fromEntries(Object.entries(r.contenders).map(([k, v]) => [k, +v.gbps.toFixed(3)]))
            : (r.codecs ?? { peak: r.peakRssMiB, maxRss: r.maxRssMiB }),
        ),
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  addRatios(results);
  const dir = join(root, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/tensor-core-io.json`, `${JSON.stringify(results, null, 2)}\n`);
  const md = render(results);
  writeFileSync(`${dir}/tensor-core-io.md`, md);
  console.log(md);
}

/** Ratio summaries (median-based and best-run-based) added to the results object. */
function addRatios(results) {
  const c = results.cells;
  const W = c.write.contenders;
  const R = c.read.contenders;
  results.ratios = {
    writeVsFs: W.safetensors.gbps / W.fs.gbps,
    writeDurableVsFsFsync: W["safetensors-durable"].gbps / W["fs-fsync"].gbps,
    writeShmVsFsShm: W["safetensors-shm"] ? W["safetensors-shm"].gbps / W["fs-shm"].gbps : null,
    ...Object.fromEntries(
      Object.entries(R).map(([k, v]) => [`read:${k}VsFsReuse`, v.gbps / R["fs-reuse"].gbps]),
    ),
  };
  const minOf = (v) => Math.min(...v.times);
  results.ratiosBest = {
    writeVsFs: minOf(W.fs) / minOf(W.safetensors),
    writeDurableVsFsFsync: minOf(W["fs-fsync"]) / minOf(W["safetensors-durable"]),
    writeShmVsFsShm: W["safetensors-shm"] ? minOf(W["fs-shm"]) / minOf(W["safetensors-shm"]) : null,
    ...Object.fromEntries(
      Object.entries(R).map(([k, v]) => [`read:${k}VsFsReuse`, minOf(R["fs-reuse"]) / minOf(v)]),
    ),
  };
}

/** The Markdown report for a results object (also used by `--render` to redo the report from the JSON). */
function render(results) {
  const { machine } = results;
  const c = results.cells;
  const W = c.write.contenders;
  const R = c.read.contenders;
  const RUNS = results.runs;
  const READ_RUNS = results.readRuns ?? 9;
  const FSYNC_RUNS = results.fsyncRuns ?? 3;
  const SHM_RUNS = results.shmRuns ?? RUNS;
  const TENSORS = results.tensors;
  const TENSOR_BYTES = results.tensorBytes;
  const CODEC_N = results.codecN ?? 32 << 20;
  const BUDGET = results.budgetBytes;
  const f2 = (x) => x.toFixed(2);
  const best = (v) => Math.min(...v.times);
  const b = (x, bold) => (bold ? `**${x}**` : x);
  const row = (label, v, base, bold) =>
    `| ${label} | ${v.medianMs.toFixed(0)} | ${best(v).toFixed(0)} | ${v.times.map((t) => t.toFixed(0)).join(", ")} | ${f2(v.gbps)} | ${b(f2(v.gbps / base.gbps), bold)} | ${b(f2(best(base) / best(v)), bold)} |`;
  const md = [
    "# @x/tensor-core I/O benchmarks",
    "",
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, ${machine.platform}.`,
    `Load average at start: ${machine.loadAvgAtStart.join(" / ")} (the 2 cores are shared with other engineers' jobs, so absolute numbers are noisy).`,
    `Date: ${machine.date}. ${RUNS} write runs, ${READ_RUNS} read runs (after one untimed warm-up), ${RUNS} codec runs. Within a table`,
    "the contenders alternate run by run in one process, so load changes and page-cache writeback hit them alike. With",
    "other jobs competing for the 2 cores the spread is wide, so both the median and the best run (min time, the",
    "least-disturbed run) are shown; GB/s is from the median. Command: `pnpm bench io`.",
    "",
    `Fixture: one safetensors file of ${(results.fileBytes / 1e9).toFixed(3)} GB, ${TENSORS} F32 tensors of 16 MiB. Reads are page-cache warm`,
    "(the file was just written; dropping the cache needs root), so they measure the software path, not the disk.",
    "",
    "## Summary (goal: at least 0.8 of a plain sequential fs read / write of the same file)",
    "",
    `- **Read**, reusing buffers — readInto / readChunks / readFloat32(out): ${[
      "readInto-reuse",
      "readChunks-reuse",
      "readFloat32-reuse",
    ]
      .map((k) => f2(results.ratios[`read:${k}VsFsReuse`]))
      .join(" / ")} of plain fs by median, ${["readInto-reuse", "readChunks-reuse", "readFloat32-reuse"]
      .map((k) => f2(results.ratiosBest[`read:${k}VsFsReuse`]))
      .join(
        " / ",
      )} by best run. Fresh 16 MiB buffers per tensor cost plain fs and tensor-core alike (page faults).`,
    `- **Write** — page cache: ${f2(results.ratios.writeVsFs)} (median) / ${f2(results.ratiosBest.writeVsFs)} (best); tmpfs: ${
      results.ratios.writeShmVsFsShm === null
        ? "n/a"
        : `${f2(results.ratios.writeShmVsFsShm)} / ${f2(results.ratiosBest.writeShmVsFsShm)}`
    }; with fsync: ${f2(results.ratios.writeDurableVsFsFsync)} / ${f2(results.ratiosBest.writeDurableVsFsFsync)}. Page-cache writes swing by`,
    "  10x run to run with the shared disk's writeback state, so read the best-run ratios and the tmpfs pair.",
    `- **Peak RSS** streaming the ${(results.fileBytes / 2 ** 30).toFixed(2)} GiB file: ${c["rss-read"].maxRssMiB.toFixed(0)} MiB (readFloat32 of every tensor) and ${c["rss-convert"].maxRssMiB.toFixed(0)} MiB (F32 -> BF16 conversion) against a ${BUDGET / 2 ** 20} MiB budget.`,
    "",
    `## Write (${((TENSORS * TENSOR_BYTES) / 2 ** 30).toFixed(2)} GiB of tensor data)`,
    "",
    "| contender | median ms | best ms | runs ms | GB/s | ratio vs fs (median) | ratio vs fs (best) |",
    "|---|---|---|---|---|---|---|",
    row(`plain fs: open, ${TENSORS} positional writes of 16 MiB, close`, W.fs, W.fs, false),
    row("writeSafetensors (header, tensors, temp file + rename)", W.safetensors, W.fs, true),
    ...(W["fs-shm"]
      ? [
          row(`plain fs on tmpfs (/dev/shm) (${SHM_RUNS} runs)`, W["fs-shm"], W["fs-shm"], false),
          row("writeSafetensors on tmpfs (/dev/shm)", W["safetensors-shm"], W["fs-shm"], true),
        ]
      : []),
    row(`plain fs as above + fsync (${FSYNC_RUNS} runs)`, W["fs-fsync"], W["fs-fsync"], false),
    row(
      "writeSafetensors({ durable: true }) (fsync before rename)",
      W["safetensors-durable"],
      W["fs-fsync"],
      true,
    ),
    "",
    "## Read (every tensor, one at a time)",
    "",
    "| contender | median ms | best ms | runs ms | GB/s | ratio vs plain fs reused (median) | (best) |",
    "|---|---|---|---|---|---|---|",
    row("plain fs: sequential 16 MiB reads into one reused buffer", R["fs-reuse"], R["fs-reuse"], false),
    row("plain fs: sequential 16 MiB reads, fresh buffer each", R["fs-fresh"], R["fs-reuse"], false),
    row("readInto(name, reused buffer)", R["readInto-reuse"], R["fs-reuse"], true),
    row("readChunks(name, 16 MiB, reused buffer)", R["readChunks-reuse"], R["fs-reuse"], true),
    row("readFloat32(name, reused output)", R["readFloat32-reuse"], R["fs-reuse"], true),
    row("read(name) -> Tensor (fresh buffer per tensor)", R.read, R["fs-reuse"], false),
    row("readFloat32(name) (fresh array per tensor)", R.readFloat32, R["fs-reuse"], false),
    "",
    "Fresh 16 MiB buffers are zero pages the kernel must fault in while copying, so both the plain and the",
    "tensor-core fresh-buffer reads pay the same extra cost; reusing buffers (as a streaming merge does) avoids it.",
    "",
    `## Codecs (${CODEC_N / 2 ** 20} Mi elements, normal values; GB/s counted in float32 bytes)`,
    "",
    "| codec | median ms | best ms | GB/s (f32 side, median) | G elements/s (median) | G elements/s (best) |",
    "|---|---|---|---|---|---|",
    ...Object.entries(c.codecs.codecs).map(
      ([k, v]) =>
        `| ${k} | ${v.medianMs.toFixed(1)} | ${Math.min(...v.times).toFixed(1)} | ${f2(v.gbpsF32)} | ${f2(v.gelemPerS)} | ${f2(CODEC_N / 1e9 / (Math.min(...v.times) / 1000))} |`,
    ),
    "",
    `## Peak RSS streaming the ${(results.fileBytes / 2 ** 30).toFixed(2)} GiB file with a ${BUDGET / 2 ** 20} MiB budget (file = ${(results.fileBytes / BUDGET).toFixed(1)}x budget)`,
    "",
    "| job | time ms | RSS before MiB | peak RSS MiB (sampled) | maxRSS MiB (kernel) | within budget |",
    "|---|---|---|---|---|---|",
    ...["rss-read", "rss-convert"].map((n) => {
      const r = c[n];
      const label =
        n === "rss-read" ? "readFloat32 every tensor" : "convertCheckpoint F32 -> BF16 (16 MiB chunks)";
      return `| ${label} | ${r.times[0].toFixed(0)} | ${r.baseRssMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${r.maxRssMiB.toFixed(0)} | ${r.maxRssMiB <= BUDGET / 2 ** 20 ? "yes" : "**no**"} |`;
    }),
    "",
  ].join("\n");
  return md;
}

if (process.argv[2] === "--cell") await cell(process.argv[3], process.argv[4]);
else if (process.argv[2] === "--render") {
  const dir = join(root, "bench/results");
  const results = JSON.parse(readFileSync(`${dir}/tensor-core-io.json`, "utf8"));
  writeFileSync(`${dir}/tensor-core-io.md`, render(results));
} else await orchestrate();
