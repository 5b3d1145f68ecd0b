// Compute benchmarks for @x/tensor-core, run from the built dist/:
//   1. exact selection (radix selectKth) vs Float32Array.prototype.sort, D = 10M, same values verified;
//   2. chain z = sign(a) · min(|a|, 0.5) · exp(−0.1·x²) on 50M float32: one thread (fused kernel),
//      one thread unfused (separate kernels), KernelPool (2 workers over SharedArrayBuffer), tfjs wasm;
//   3. task-axis sum of [8, 5M] float32: one thread, KernelPool, tfjs wasm.
// Every cell runs in its own child process (so RSS is that contender's peak) and reports JSON.
// Results: bench/results/tensor-core-compute.{json,md} at the repo root.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/", import.meta.url);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TF_RUNS = Number(process.env.BENCH_TF_RUNS ?? 3);
const CHAIN_N = Number(process.env.BENCH_CHAIN_N ?? 50_000_000);
const SEL_D = Number(process.env.BENCH_SELECT_D ?? 10_000_000);
const RED_N = 8;
const RED_D = Number(process.env.BENCH_REDUCE_D ?? 5_000_000);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const now = () => performance.now();

// ---------------------------------------------------------------- cells (child processes)
async function cell(name) {
  const tc = await import(new URL("index.js", dist).href);
  const { kernels: K, Rng } = tc;
  const fill = (arr, seed, lo, hi) => {
    const r = new Rng(seed);
    for (let i = 0; i < arr.length; i++) arr[i] = lo + (hi - lo) * r.uniform();
    return arr;
  };
  const times = [];
  const out = { name, times };

  if (name === "select") {
    const r = new Rng(1);
    const a = new Float32Array(SEL_D);
    // Normal values with 10% exact ties at a few levels, as real task vectors have.
    for (let i = 0; i < SEL_D; i++) a[i] = r.uniform() < 0.1 ? Math.round(r.normal()) : r.normal();
    const ks = [Math.floor(SEL_D * 0.01), SEL_D >> 1, Math.floor(SEL_D * 0.99) - 1];
    const scratch = tc.createSelectScratch();
    const sel = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = now();
      const v = tc.selectKth(a, ks[run % ks.length], scratch);
      sel.push(now() - t0);
      if (Number.isNaN(v)) throw new Error("unexpected NaN");
    }
    const pair = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = now();
      tc.selectKths(a, [ks[0], ks[2]], scratch);
      pair.push(now() - t0);
    }
    const sortT = [];
    let sorted;
    for (let run = 0; run < 3; run++) {
      const t0 = now();
      sorted = a.slice().sort();
      sortT.push(now() - t0);
    }
    const same = ks.every((k) => Object.is(tc.selectKth(a, k, scratch), sorted[k]));
    const b = Float64Array.from(a);
    const sel64 = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = now();
      tc.selectKth(b, ks[run % ks.length], scratch);
      sel64.push(now() - t0);
    }
    const t0 = now();
    const sorted64 = b.slice().sort();
    const sort64 = now() - t0;
    const same64 = ks.every((k) => Object.is(tc.selectKth(b, k, scratch), sorted64[k]));
    // Per-row selection of a 4 x 2.5M block (two ranks per row, as PCB's clamp bounds): one thread
    // vs KernelPool.selectRows on 2 workers.
    const rows = 4;
    const d = SEL_D / rows;
    const block = tc.sharedFloat32Array(SEL_D);
    block.set(a);
    const rowKs = [Math.floor(d * 0.01), Math.floor(d * 0.99) - 1];
    const seqRows = [];
    let seqResult;
    for (let run = 0; run < RUNS; run++) {
      const t0 = now();
      seqResult = [];
      for (let r = 0; r < rows; r++)
        seqResult.push(tc.selectKths(block.subarray(r * d, (r + 1) * d), rowKs, scratch));
      seqRows.push(now() - t0);
    }
    const pool = new tc.KernelPool({ threads: 2 });
    await pool.selectRows(block, rows, d, rowKs);
    const poolRows = [];
    let poolResult;
    for (let run = 0; run < RUNS; run++) {
      const t0 = now();
      poolResult = await pool.selectRows(block, rows, d, rowKs);
      poolRows.push(now() - t0);
    }
    await pool.destroy();
    Object.assign(out, {
      rows_seq_f32: seqRows,
      rows_pool_f32: poolRows,
      rowsSame: JSON.stringify(seqResult) === JSON.stringify(poolResult),
      select_f32: sel,
      selectKths_pair_f32: pair,
      sort_f32: sortT,
      select_f64: sel64,
      sort_f64: [sort64],
      sameValues: same && same64,
      ks,
    });
  } else if (name.startsWith("chain-")) {
    const shared = name === "chain-pool";
    const mk = (n) => (shared ? tc.sharedFloat32Array(n) : new Float32Array(n));
    const a = fill(mk(CHAIN_N), 11, -2, 2);
    const x = fill(mk(CHAIN_N), 12, -3, 3);
    let z;
    if (name === "chain-js") {
      z = new Float32Array(CHAIN_N);
      for (let run = 0; run < RUNS; run++) {
        const t0 = now();
        K.gatedClamp(a, x, 0.5, 0.1, z);
        times.push(now() - t0);
      }
    } else if (name === "chain-js-unfused") {
      // Same math from the separate kernels, reusing two temporaries (no per-op allocation).
      z = new Float32Array(CHAIN_N);
      const t = new Float32Array(CHAIN_N);
      for (let run = 0; run < RUNS; run++) {
        const t0 = now();
        K.abs(a, t);
        K.clamp(t, 0, 0.5, t);
        K.sign(a, z);
        K.mul(z, t, z);
        K.mul(x, x, t);
        K.scale(t, -0.1, t);
        K.exp(t, t);
        K.mul(z, t, z);
        times.push(now() - t0);
      }
    } else if (name === "chain-pool") {
      z = tc.sharedFloat32Array(CHAIN_N);
      const pool = new tc.KernelPool({ threads: 2 });
      await pool.elementwise("gatedClamp", [a, x, z], [0.5, 0.1]); // warm-up: start the workers
      for (let run = 0; run < RUNS; run++) {
        const t0 = now();
        await pool.elementwise("gatedClamp", [a, x, z], [0.5, 0.1]);
        times.push(now() - t0);
      }
      await pool.destroy();
    } else if (name === "chain-tfjs-wasm") {
      const { initTf } = await import(new URL("tfjs/index.js", dist).href);
      const { tf } = await initTf({ backend: "wasm" });
      const t0 = now();
      const ta = tf.tensor1d(a);
      const tx = tf.tensor1d(x);
      out.uploadMs = now() - t0;
      for (let run = 0; run < TF_RUNS; run++) {
        const t1 = now();
        z = tf
          .tidy(() =>
            tf.mul(tf.mul(tf.sign(ta), tf.minimum(tf.abs(ta), 0.5)), tf.exp(tf.mul(-0.1, tf.square(tx)))),
          )
          .dataSync();
        times.push(now() - t1);
      }
      tf.dispose([ta, tx]);
    }
    out.checksum = K.sum(z);
    out.absChecksum = K.sum(K.abs(z, z));
  } else if (name.startsWith("reduce-")) {
    const shared = name === "reduce-pool";
    const x = fill(
      shared ? tc.sharedFloat32Array(RED_N * RED_D) : new Float32Array(RED_N * RED_D),
      21,
      -1,
      1,
    );
    let s;
    if (name === "reduce-js") {
      s = new Float32Array(RED_D);
      for (let run = 0; run < RUNS; run++) {
        const t0 = now();
        K.reduceTasks("sum", x, RED_N, RED_D, s);
        times.push(now() - t0);
      }
    } else if (name === "reduce-pool") {
      s = tc.sharedFloat32Array(RED_D);
      const pool = new tc.KernelPool({ threads: 2 });
      await pool.reduceTasks("sum", x, RED_N, RED_D, s);
      for (let run = 0; run < RUNS; run++) {
        const t0 = now();
        await pool.reduceTasks("sum", x, RED_N, RED_D, s);
        times.push(now() - t0);
      }
      await pool.destroy();
    } else {
      const { initTf } = await import(new URL("tfjs/index.js", dist).href);
      const { tf } = await initTf({ backend: "wasm" });
      const tx = tf.tensor2d(x, [RED_N, RED_D]);
      for (let run = 0; run < TF_RUNS; run++) {
        const t0 = now();
        s = tf.tidy(() => tf.sum(tx, 0)).dataSync();
        times.push(now() - t0);
      }
      tx.dispose();
    }
    out.checksum = K.sum(s);
  } else if (name.startsWith("conv-")) {
    // conv2d forward + backward (grads w.r.t. x and w), x[64, 28, 28, 1] * w[3, 3, 1, 16] 'same'.
    const { initTf, replacedKernel, CONV2D_BACKPROP_FILTER } = await import(
      new URL("tfjs/index.js", dist).href
    );
    const backend = name.includes("wasm") ? "wasm" : "cpu";
    const { tf } = await initTf({ backend });
    if (name === "conv-cpu-stock") {
      tf.unregisterKernel(CONV2D_BACKPROP_FILTER, "cpu");
      tf.registerKernel(replacedKernel("cpu"));
    }
    const x = tf.tensor4d(fill(new Float32Array(64 * 28 * 28), 31, 0, 1), [64, 28, 28, 1]);
    const w = tf.tensor4d(fill(new Float32Array(3 * 3 * 16), 32, -0.5, 0.5), [3, 3, 1, 16]);
    const f = (a, b) => tf.sum(tf.square(tf.conv2d(a, b, 1, "same")));
    let dw;
    const runs = name === "conv-cpu-stock" ? TF_RUNS : RUNS;
    for (let run = 0; run < runs + 1; run++) {
      const t0 = now();
      const [gx, gw] = tf.grads(f)([x, w]);
      gx.dataSync();
      dw = gw.dataSync();
      if (run > 0) times.push(now() - t0); // run 0 warms up kernels / JIT
      tf.dispose([gx, gw]);
    }
    out.checksum = K.sum(Float32Array.from(dw));
  } else {
    throw new Error(`unknown cell ${name}`);
  }
  out.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`\n@@RESULT ${JSON.stringify(out)}\n`);
}

// ---------------------------------------------------------------- driver
function runCell(name) {
  const stdout = execFileSync(
    process.execPath,
    ["--expose-gc", fileURLToPath(import.meta.url), `--cell=${name}`],
    {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const line = stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
  if (!line) throw new Error(`cell ${name} printed no result`);
  const r = JSON.parse(line.slice(9));
  console.log(
    `  ${name}: ${r.times.length ? `median ${median(r.times).toFixed(1)} ms` : ""} rss ${r.maxRssMB} MB`,
  );
  return r;
}

async function main() {
  const load = os.loadavg();
  const machine = {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvgAtStart: load.map((l) => +l.toFixed(2)),
    date: new Date().toISOString(),
  };
  console.log("machine", machine);
  const cells = {};
  for (const name of [
    "select",
    "chain-js",
    "chain-js-unfused",
    "chain-pool",
    "chain-tfjs-wasm",
    "reduce-js",
    "reduce-pool",
    "reduce-tfjs-wasm",
    "conv-cpu-stock",
    "conv-cpu-own",
    "conv-wasm-own",
  ]) {
    cells[name] = runCell(name);
  }
  const sel = cells.select;
  const m = (xs) => +median(xs).toFixed(1);
  const chainRef = cells["chain-js"];
  const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
  const results = {
    machine,
    config: { runs: RUNS, tfRuns: TF_RUNS, chainN: CHAIN_N, selectD: SEL_D, reduceShape: [RED_N, RED_D] },
    selection: {
      D: SEL_D,
      ranks: sel.ks,
      selectKth_f32_ms: m(sel.select_f32),
      selectKths_two_ranks_f32_ms: m(sel.selectKths_pair_f32),
      sort_f32_ms: m(sel.sort_f32),
      speedup_f32: +(median(sel.sort_f32) / median(sel.select_f32)).toFixed(1),
      selectKth_f64_ms: m(sel.select_f64),
      sort_f64_ms: m(sel.sort_f64),
      speedup_f64: +(median(sel.sort_f64) / median(sel.select_f64)).toFixed(1),
      sameValuesAsSort: sel.sameValues,
      rows_4x_two_ranks_one_thread_ms: m(sel.rows_seq_f32),
      rows_4x_two_ranks_pool_ms: m(sel.rows_pool_f32),
      rows_pool_speedup: +(median(sel.rows_seq_f32) / median(sel.rows_pool_f32)).toFixed(2),
      rows_pool_same: sel.rowsSame,
      rssMB: sel.maxRssMB,
      raw: sel,
    },
    chain: Object.fromEntries(
      ["chain-js", "chain-js-unfused", "chain-pool", "chain-tfjs-wasm"].map((k) => [
        k,
        {
          median_ms: m(cells[k].times),
          times_ms: cells[k].times.map((t) => +t.toFixed(1)),
          vs_js_fused: +(median(cells[k].times) / median(chainRef.times)).toFixed(2),
          checksum_rel_diff_vs_js: +rel(cells[k].checksum, chainRef.checksum).toExponential(2),
          abs_checksum_rel_diff_vs_js: +rel(cells[k].absChecksum, chainRef.absChecksum).toExponential(2),
          uploadMs: cells[k].uploadMs !== undefined ? +cells[k].uploadMs.toFixed(1) : undefined,
          rssMB: cells[k].maxRssMB,
        },
      ]),
    ),
    reduce: Object.fromEntries(
      ["reduce-js", "reduce-pool", "reduce-tfjs-wasm"].map((k) => [
        k,
        {
          median_ms: m(cells[k].times),
          times_ms: cells[k].times.map((t) => +t.toFixed(1)),
          vs_js: +(median(cells[k].times) / median(cells["reduce-js"].times)).toFixed(2),
          checksum_rel_diff_vs_js: +rel(cells[k].checksum, cells["reduce-js"].checksum).toExponential(2),
          rssMB: cells[k].maxRssMB,
        },
      ]),
    ),
    conv2dGrad: Object.fromEntries(
      ["conv-cpu-stock", "conv-cpu-own", "conv-wasm-own"].map((k) => [
        k,
        {
          median_ms: m(cells[k].times),
          times_ms: cells[k].times.map((t) => +t.toFixed(1)),
          vs_cpu_stock: +(median(cells[k].times) / median(cells["conv-cpu-stock"].times)).toFixed(3),
          checksum_rel_diff_vs_js: +rel(cells[k].checksum, cells["conv-cpu-stock"].checksum).toExponential(2),
          rssMB: cells[k].maxRssMB,
        },
      ]),
    ),
  };
  const dir = `${root}bench/results`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/tensor-core-compute.json`, `${JSON.stringify(results, null, 2)}\n`);
  const s = results.selection;
  const row = (k, r, base) =>
    `| ${k} | ${r.median_ms} | ${r.times_ms.join(", ")} | ${r[base]} | ${r.checksum_rel_diff_vs_js} | ${r.rssMB} |`;
  const md = [
    "# @x/tensor-core compute benchmarks",
    "",
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, ${machine.platform}.`,
    `Load average at start: ${machine.loadAvgAtStart.join(" / ")} (the 2 cores are shared with other engineers' jobs, so absolute numbers are noisy).`,
    `Date: ${machine.date}. Each contender ran in its own process; medians of ${RUNS} runs (tfjs: ${TF_RUNS}). Command: \`pnpm bench compute\`.`,
    "",
    `## Exact selection, D = ${s.D.toLocaleString("en")} (ranks ${s.ranks.join(", ")})`,
    "",
    "| contender | median ms | ratio |",
    "|---|---|---|",
    `| selectKth (radix, Float32) | ${s.selectKth_f32_ms} | **${s.speedup_f32}x faster than sort** |`,
    `| selectKths, 2 ranks (Float32) | ${s.selectKths_two_ranks_f32_ms} | |`,
    `| Float32Array.prototype.sort (copy + sort) | ${s.sort_f32_ms} | 1 |`,
    `| selectKth (radix, Float64) | ${s.selectKth_f64_ms} | **${s.speedup_f64}x faster than sort** |`,
    `| Float64Array.prototype.sort (copy + sort, 1 run) | ${s.sort_f64_ms} | 1 |`,
    "",
    `Same values as sorted[k] at every benchmarked rank: **${s.sameValuesAsSort}**.`,
    "",
    `Per-row selection of a [4, ${(s.D / 4).toLocaleString("en")}] block, two ranks per row: one thread ${s.rows_4x_two_ranks_one_thread_ms} ms, \`KernelPool.selectRows\` on 2 workers ${s.rows_4x_two_ranks_pool_ms} ms (${s.rows_pool_speedup}x; identical results: ${s.rows_pool_same}).`,
    "",
    `## Chain z = sign(a)·min(|a|, 0.5)·exp(−0.1·x²), ${CHAIN_N.toLocaleString("en")} float32`,
    "",
    "| contender | median ms | runs ms | time / js fused | checksum rel. diff vs js | peak RSS MB |",
    "|---|---|---|---|---|---|",
    ...Object.entries(results.chain).map(([k, r]) => row(k, r, "vs_js_fused")),
    "",
    `tfjs wasm timings include \`dataSync()\` read-back; uploading the two inputs took ${results.chain["chain-tfjs-wasm"].uploadMs} ms extra (not in the median). tfjs computes in float32 op by op, so its checksum differs slightly from the fused float64-intermediate kernel.`,
    "",
    `## Task-axis sum, [${RED_N}, ${RED_D.toLocaleString("en")}] float32 -> [${RED_D.toLocaleString("en")}]`,
    "",
    "| contender | median ms | runs ms | time / js | checksum rel. diff vs js | peak RSS MB |",
    "|---|---|---|---|---|---|",
    ...Object.entries(results.reduce).map(([k, r]) => row(k, r, "vs_js")),
    "",
    "## conv2d forward + backward (grads w.r.t. x and w), x[64, 28, 28, 1] * w[3, 3, 1, 16] 'same'",
    "",
    "The stock tfjs-backend-cpu Conv2DBackpropFilter vs the own kernel registered by `initTf` (cpu and wasm; wasm has no stock kernel). The checksum column compares dW with the stock cpu kernel.",
    "",
    "| contender | median ms | runs ms | time / cpu stock | dW checksum rel. diff vs stock | peak RSS MB |",
    "|---|---|---|---|---|---|",
    ...Object.entries(results.conv2dGrad).map(([k, r]) => row(k, r, "vs_cpu_stock")),
    "",
  ].join("\n");
  writeFileSync(`${dir}/tensor-core-compute.md`, md);
  console.log(`wrote ${dir}/tensor-core-compute.{json,md}`);
}

const cellArg = process.argv.find((a) => a.startsWith("--cell="));
if (cellArg) await cell(cellArg.slice(7));
else await main();
