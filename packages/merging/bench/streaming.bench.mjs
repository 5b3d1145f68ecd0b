// Streaming checkpoint-merge benchmark (run with `pnpm bench streaming` from the repo root, after a build).
// Generates a base and 4 fine-tuned llama-shaped BF16 checkpoints (sharded, HF layout) with realistic
// task-vector statistics (small dense deltas, 0.1 % large outliers, per-tensor scale varying 10×), then
// measures side by side, each run in its own child process (for a clean peak RSS):
//   floor-raw     read every input tensor's bytes, write one output of the same size (pure I/O floor)
//   floor-raw-pieces  the same bytes in 1 Mi-element pieces, reading the next piece while writing this one
//   floor-decode  the same, decoding BF16 → f32 on read and encoding f32 → BF16 on write (what any merge must do)
//   task_arithmetic  x merge task_arithmetic (per tensor)
//   task_arithmetic-t2  the same with threads: 2 (final merge on 2 worker threads)
//   task_arithmetic-js  the fused path with WebAssembly SIMD disabled (JavaScript kernels)
//   task_arithmetic-unfused  the general path (every input decoded to float32, merge, encode)
//   task_arithmetic-before   the general path with SIMD disabled: the code as it was before the fused path
//   pcb           x merge pcb, mode streaming-global: the default fast path (stored bytes in memory,
//                 WebAssembly SIMD passes on all cores)
//   pcb-t1        the same with threads: 1
//   pcb-general   the general streaming path (fast_path: false): passes over decoded tensors, task store
//   <kind>-cold   any contender with the page cache dropped first (root only: sync; echo 3 >
//                 /proc/sys/vm/drop_caches), so its inputs come from the disk: the I/O floor of checkpoints
//                 that are not already in memory
// Peak RSS is compared with the bound (inputs + 2) × largest tensor (as f32) above a bare-process baseline.
// Env: X_BENCH_PARAMS (default 250e6, the issue's example size; the PCB fast path takes it when
// memory_budget, by default a quarter of the machine's memory up to 4 GiB, is at least ≈ 3.9 GB; up to
// ≈ 255e6 fits a WebAssembly memory), BENCH_QUICK=1 (20e6), X_BENCH_REPS (default 3), X_BENCH_ONLY (a
// comma-separated subset of contenders), X_BENCH_NAME (results file name, default merging-streaming),
// X_BENCH_DIR (keep the generated checkpoints in this directory and reuse them), X_BENCH_PCB_BUDGET (PCB's
// memory_budget in bytes, e.g. 4e9 on a machine with less than 16 GiB).
// Writes bench/results/merging-streaming.{json,md} at the repo root; temp files in /tmp are removed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, open } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { f32ToBf16, openCheckpoint, ShardedSafetensorsWriter, setSimdEnabled } from "@x/tensor-core";
import { getMethod, mergeCheckpoints, parseMergeConfig } from "../dist/index.js";
import { machineOf, median, writeSyntheticModel } from "./synthetic.mjs";

const self = fileURLToPath(import.meta.url);
const root = new URL("../../..", import.meta.url).pathname;
const MODELS = 4;

// ---------------------------------------------------------------------------------------------
// Child mode: run one contender, print {ms, maxRssBytes} as JSON.

/** The floors' setup: every input opened, and a writer for an output shaped like the base. */
async function openFloorIO(inputs, out) {
  const cks = await Promise.all(inputs.map((p) => openCheckpoint(p)));
  const base = cks[0];
  const names = base.names();
  mkdirSync(out);
  const w = await ShardedSafetensorsWriter.create(
    out,
    names.map((n) => ({ name: n, ...base.info(n) })),
    { maxShardSize: 2e9 },
  );
  return { cks, base, names, w };
}

async function child(kind, dir) {
  const out = join(dir, `out-${kind}-${process.pid}`);
  const cpu0 = process.cpuUsage();
  /** PCB: [label, wall ms, CPU ms] per phase (pass or merge), from the progress events. */
  const phases = [];
  const inputs = ["base", ...Array.from({ length: MODELS }, (_, i) => `ft${i}`)].map((m) => join(dir, m));
  const t0 = performance.now();
  if (kind === "baseline") {
    // Only the imports and an open of the inputs: the process's own footprint.
    for (const p of inputs) await (await openCheckpoint(p)).close();
  } else if (kind === "floor-raw-pieces") {
    // The I/O floor with the fused merge's overlap: 1 Mi-element pieces, the next piece's reads in
    // flight while the current one is written (no computation at all).
    const { cks, base, names, w } = await openFloorIO(inputs, out);
    const handles = new Map();
    const handle = (path) => {
      if (!handles.has(path)) handles.set(path, open(path, "r"));
      return handles.get(path);
    };
    const PIECE = 1 << 20;
    const banks = [0, 1].map(() => cks.map(() => new Uint8Array(PIECE * 4)));
    const steps = [];
    for (const n of names) {
      const { dtype, shape } = base.info(n);
      const size = dtype === "F32" ? 4 : 2;
      const numel = shape.reduce((a, b) => a * b, 1);
      for (let s = 0; s < numel; s += PIECE)
        steps.push({ n, off: s * size, len: Math.min(PIECE, numel - s) * size });
    }
    const read = (st, bank) =>
      Promise.all(
        cks.map(async (c, i) => {
          const f = c.fileOf(st.n);
          const view = banks[bank][i].subarray(0, st.len);
          await (await handle(f.path)).read(
            view,
            0,
            st.len,
            f.header.dataOffset + f.entry(st.n).begin + st.off,
          );
          return view;
        }),
      );
    let pending = steps.length ? read(steps[0], 0) : undefined;
    for (let j = 0; j < steps.length; j++) {
      const views = await pending;
      pending = j + 1 < steps.length ? read(steps[j + 1], (j + 1) & 1) : undefined;
      await w.writeChunk(steps[j].n, views[0]);
    }
    await w.finish();
    for (const h of handles.values()) await (await h).close();
    await Promise.all(cks.map((c) => c.close()));
  } else if (kind === "floor-raw" || kind === "floor-decode") {
    const { cks, base, names, w } = await openFloorIO(inputs, out);
    // Reused per-input buffers, like the merge pipeline's read slots.
    const slots = cks.map(() => new Float32Array(0));
    const bf16 = { buf: new Uint16Array(0) };
    for (const n of names) {
      const { dtype, shape } = base.info(n);
      const numel = shape.reduce((a, b) => a * b, 1);
      for (let i = 0; i < slots.length; i++) if (slots[i].length < numel) slots[i] = new Float32Array(numel);
      if (kind === "floor-raw") {
        const bytes = numel * (dtype === "F32" ? 4 : 2);
        const views = slots.map((s) => new Uint8Array(s.buffer, 0, bytes));
        await Promise.all(cks.map((c, i) => c.fileOf(n).readInto(n, views[i])));
        await w.write(n, views[0]);
      } else {
        const vals = await Promise.all(
          cks.map((c, i) => c.fileOf(n).readFloat32(n, slots[i].subarray(0, numel))),
        );
        if (bf16.buf.length < numel) bf16.buf = new Uint16Array(numel);
        await w.write(n, f32ToBf16(vals[0], bf16.buf.subarray(0, numel)));
      }
    }
    await w.finish();
    await Promise.all(cks.map((c) => c.close()));
  } else {
    const models = Array.from(
      { length: MODELS },
      (_, i) => `  - model: ${inputs[i + 1]}\n    parameters: { weight: 1.0 }`,
    );
    const yaml = kind.startsWith("task_arithmetic")
      ? `merge_method: task_arithmetic\nbase_model: ${inputs[0]}\nmodels:\n${models.join("\n")}\nparameters: { lambda: 0.3 }\n`
      : `merge_method: pcb\nbase_model: ${inputs[0]}\nmodels:\n${models.join("\n")}\nparameters: { mode: streaming-global, ratio: 0.1${kind === "pcb-t1" ? ", threads: 1" : ""}${kind === "pcb-general" ? ", fast_path: false" : ""}${process.env.X_BENCH_PCB_BUDGET ? `, memory_budget: ${Number(process.env.X_BENCH_PCB_BUDGET)}` : ""} }\n`;
    // Only -t2 sets the merge's threads (PCB takes it as its default thread count; unset = all cores).
    const threads = kind === "task_arithmetic-t2" ? 2 : undefined;
    // A copy of the method object is not recognized by the fused path: the general (decode everything
    // to float32, merge, encode) path runs instead.
    const unfused = kind === "task_arithmetic-unfused" || kind === "task_arithmetic-before";
    if (kind === "task_arithmetic-before" || kind === "task_arithmetic-js") setSimdEnabled(false);
    const config = parseMergeConfig(yaml);
    const method = unfused ? { ...getMethod(config.mergeMethod) } : undefined;
    // Phase ends (the last progress event of each label) for the per-pass table.
    const ends = new Map();
    const onProgress = (e) => ends.set(e.label, [performance.now(), process.cpuUsage()]);
    await mergeCheckpoints(config, out, { outShardSize: 2e9, threads, method, onProgress });
    let prev = [t0, cpu0];
    for (const [label, end] of ends) {
      const cpuMs = (end[1].user + end[1].system - prev[1].user - prev[1].system) / 1000;
      phases.push([label.replace(/^pcb streaming-global: /, ""), end[0] - prev[0], cpuMs]);
      prev = end;
    }
  }
  const ms = performance.now() - t0;
  rmSync(out, { recursive: true, force: true });
  const cpu = process.cpuUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(
    `${JSON.stringify({ ms, cpuMs, maxRssBytes: process.resourceUsage().maxRSS * 1024, phases })}\n`,
  );
}

// ---------------------------------------------------------------------------------------------
// Synthetic checkpoints.

/** llama-like shapes sized to about `params` parameters (hidden 1024, MLP 2816, vocab 32000). */
function shapesFor(params) {
  const H = 1024;
  const I = 2816;
  const V = 32000;
  const perLayer = 4 * H * H + 3 * H * I + 2 * H;
  const layers = Math.max(1, Math.round((params - 2 * V * H - H) / perLayer));
  const s = [["model.embed_tokens.weight", [V, H]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    s.push([`${p}.self_attn.q_proj.weight`, [H, H]], [`${p}.self_attn.k_proj.weight`, [H, H]]);
    s.push([`${p}.self_attn.v_proj.weight`, [H, H]], [`${p}.self_attn.o_proj.weight`, [H, H]]);
    s.push([`${p}.mlp.gate_proj.weight`, [I, H]], [`${p}.mlp.up_proj.weight`, [I, H]]);
    s.push([`${p}.mlp.down_proj.weight`, [H, I]]);
    s.push([`${p}.input_layernorm.weight`, [H]], [`${p}.post_attention_layernorm.weight`, [H]]);
  }
  s.push(["model.norm.weight", [H]], ["lm_head.weight", [V, H]]);
  return { shapes: s, layers };
}

/** Writes one model; `model` 0 is the base, others add a task vector to the same base values. */
function writeModel(dir, shapes, model) {
  return writeSyntheticModel(dir, shapes, model, {
    dtype: "BF16",
    maxShardSize: 200e6,
    architecture: "LlamaForCausalLM",
    isNorm: (_name, shape) => shape.length === 1,
  });
}

// ---------------------------------------------------------------------------------------------
// Driver.

/** The measured goal ratios, naming only the contenders that ran. */
function goalLine(r) {
  const parts = [];
  const x = (v) => (v === null ? "–" : `${v}×`);
  if (r.taVsRawFloor !== null)
    parts.push(`TA ${x(r.taVsRawFloor)} of the raw floor (${x(r.taVsDecodeFloor)} of the decode floor)`);
  if (r.taVsPiecesFloor !== null) parts.push(`TA ${x(r.taVsPiecesFloor)} of the pipelined raw floor`);
  if (r.taThreads2VsRawFloor !== null)
    parts.push(`TA with 2 threads ${x(r.taThreads2VsRawFloor)} of the raw floor`);
  if (r.pcbVsRawFloor !== null)
    parts.push(`PCB ${x(r.pcbVsRawFloor)} of the raw floor (${x(r.pcbVsDecodeFloor)} of the decode floor)`);
  if (r.pcbThreads1VsRawFloor !== null)
    parts.push(`PCB with 1 thread ${x(r.pcbThreads1VsRawFloor)} of the raw floor`);
  if (r.pcbGeneralVsRawFloor !== null)
    parts.push(`PCB general path ${x(r.pcbGeneralVsRawFloor)} of the raw floor`);
  if (r.taColdVsColdFloor !== null)
    parts.push(`cold cache: TA ${x(r.taColdVsColdFloor)} of the cold raw floor`);
  if (r.pcbColdVsColdFloor !== null)
    parts.push(`cold cache: PCB ${x(r.pcbColdVsColdFloor)} of the cold raw floor`);
  return parts.length ? `Measured: ${parts.join("; ")}.` : "No merge contender was run.";
}

async function driver() {
  const quick = process.env.BENCH_QUICK === "1";
  const target = Number(process.env.X_BENCH_PARAMS ?? (quick ? 20e6 : 250e6));
  const reps = Number(process.env.X_BENCH_REPS ?? 3);
  const load0 = loadavg();
  const { shapes, layers } = shapesFor(target);
  const numel = (s) => s.reduce((a, b) => a * b, 1);
  const params = shapes.reduce((a, [, s]) => a + numel(s), 0);
  const largest = Math.max(...shapes.map(([, s]) => numel(s)));
  // X_BENCH_DIR keeps the generated checkpoints there (reused when present) for profiling runs.
  const keepDir = process.env.X_BENCH_DIR;
  const dir = keepDir ?? (await mkdtemp(join(tmpdir(), "x-merge-stream-bench-")));
  console.log(
    `params ${(params / 1e6).toFixed(1)}M (${layers} layers), largest tensor ${(largest / 1e6).toFixed(1)}M, dir ${dir}`,
  );
  const results = {};
  try {
    const tg = performance.now();
    for (let m = 0; m <= MODELS; m++) {
      const mdir = join(dir, m === 0 ? "base" : `ft${m - 1}`);
      if (!keepDir || !existsSync(mdir)) await writeModel(mdir, shapes, m);
    }
    const genMs = performance.now() - tg;
    console.log(`generated ${MODELS + 1} checkpoints in ${(genMs / 1000).toFixed(1)}s`);
    const kinds = (
      process.env.X_BENCH_ONLY ??
      "baseline,floor-raw,floor-raw-pieces,floor-decode,task_arithmetic,task_arithmetic-t2,task_arithmetic-js,task_arithmetic-unfused,task_arithmetic-before,pcb,pcb-t1,pcb-general,floor-raw-cold,task_arithmetic-cold,pcb-cold"
    ).split(",");
    for (const k of kinds) results[k] = { ms: [], cpuMs: [], maxRssBytes: [], phases: [] };
    for (let r = 0; r < reps; r++) {
      for (const k of kinds) {
        // "-cold": drop the page cache first, so the inputs are read from the disk.
        const cold = k.endsWith("-cold");
        if (cold) {
          spawnSync("sync");
          writeFileSync("/proc/sys/vm/drop_caches", "3\n");
        }
        const res = spawnSync(
          process.execPath,
          ["--expose-gc", self, "--child", cold ? k.slice(0, -5) : k, dir],
          {
            encoding: "utf8",
            maxBuffer: 1 << 20,
          },
        );
        if (res.status !== 0) throw new Error(`${k} failed: ${res.stderr}`);
        const { ms, cpuMs, maxRssBytes, phases } = JSON.parse(res.stdout.trim().split("\n").pop());
        results[k].ms.push(ms);
        results[k].cpuMs.push(cpuMs);
        results[k].maxRssBytes.push(maxRssBytes);
        results[k].phases.push(phases);
        console.log(
          `rep ${r + 1} ${k}: ${(ms / 1000).toFixed(2)}s (CPU ${(cpuMs / 1000).toFixed(2)}s), peak RSS ${(maxRssBytes / 2 ** 20).toFixed(0)} MiB, load ${loadavg()[0].toFixed(2)}`,
        );
      }
    }
    const med = Object.fromEntries(
      kinds.map((k) => [
        k,
        {
          ms: median(results[k].ms),
          cpuMs: median(results[k].cpuMs),
          maxRssBytes: median(results[k].maxRssBytes),
        },
      ]),
    );
    // PCB per phase: median wall and CPU over the reps, by phase label.
    const pcbPhases = Object.fromEntries(
      kinds
        .filter((k) => k.startsWith("pcb") && results[k].phases[0]?.length)
        .map((k) => [
          k,
          results[k].phases[0].map(([label], j) => ({
            label,
            ms: median(results[k].phases.map((p) => p[j]?.[1] ?? Number.NaN)),
            cpuMs: median(results[k].phases.map((p) => p[j]?.[2] ?? Number.NaN)),
          })),
        ]),
    );
    const inputBytes = params * 2 * (MODELS + 1);
    const ratio = (a, b) => (med[a] && med[b] ? +(med[a].ms / med[b].ms).toFixed(2) : null);
    const boundBytes = (MODELS + 1 + 2) * largest * 4;
    // The baseline process (imports + opens) is subtracted from peak RSS when it was run.
    const baseRss = med.baseline?.maxRssBytes ?? null;
    const aboveBase = (k) => (med[k] && baseRss !== null ? med[k].maxRssBytes - baseRss : null);
    const summary = {
      machine: machineOf(
        load0,
        "shared 2-core VM: other jobs may run concurrently; inputs in the page cache (warm reads) except for -cold contenders",
      ),
      setup: {
        params,
        layers,
        models: `base + ${MODELS} fine-tuned, BF16, sharded at 200 MB`,
        inputBytes,
        largestTensorElements: largest,
        reps,
        generateSeconds: +(genMs / 1000).toFixed(1),
      },
      raw: results,
      median: med,
      ratios: {
        taVsRawFloor: ratio("task_arithmetic", "floor-raw"),
        taVsDecodeFloor: ratio("task_arithmetic", "floor-decode"),
        taThreads2VsRawFloor: ratio("task_arithmetic-t2", "floor-raw"),
        taVsPiecesFloor: ratio("task_arithmetic", "floor-raw-pieces"),
        pcbVsRawFloor: ratio("pcb", "floor-raw"),
        pcbVsDecodeFloor: ratio("pcb", "floor-decode"),
        pcbThreads1VsRawFloor: ratio("pcb-t1", "floor-raw"),
        pcbGeneralVsRawFloor: ratio("pcb-general", "floor-raw"),
        taColdVsColdFloor: ratio("task_arithmetic-cold", "floor-raw-cold"),
        pcbColdVsColdFloor: ratio("pcb-cold", "floor-raw-cold"),
      },
      pcbPhases,
      memory: {
        boundBytes,
        baselineRssBytes: baseRss,
        taPeakAboveBaselineBytes: aboveBase("task_arithmetic"),
        pcbPeakAboveBaselineBytes: aboveBase("pcb"),
      },
    };
    const dirOut = join(root, "bench", "results");
    mkdirSync(dirOut, { recursive: true });
    const name = process.env.X_BENCH_NAME ?? "merging-streaming";
    writeFileSync(join(dirOut, `${name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    const mib = (b) => `${Math.max(0, b / 2 ** 20).toFixed(0)} MiB`;
    const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
    const md = [
      "# Streaming checkpoint merges (`x merge`)",
      "",
      `Machine: ${summary.machine.cpu}, ${summary.machine.cores} cores, ${summary.machine.memGiB} GiB, Node ${summary.machine.node}; load average at start ${summary.machine.loadavgAtStart.join(" / ")}, at end ${summary.machine.loadavgAtEnd.join(" / ")} (shared machine: other jobs may run). Inputs were warm in the page cache, except for the \`-cold\` contenders (page cache dropped before each of their runs; their "vs raw I/O floor" column compares with \`floor-raw-cold\`).`,
      "",
      `Model: llama-shaped, ${(params / 1e6).toFixed(1)} M parameters (${layers} layers, hidden 1024, MLP 2816, vocab 32000), base + ${MODELS} fine-tuned models in BF16 (${(inputBytes / 1e9).toFixed(2)} GB of inputs, sharded at 200 MB). Task vectors: Gaussian with per-tensor scale log-uniform in [2e-4, 2e-3] plus 0.1 % outliers at 30×. Output BF16 in 2 GB shards. Medians of ${reps} runs, each contender in its own process.`,
      "",
      "| contender | median time | CPU (user + sys) | vs raw I/O floor | vs pipelined raw floor | vs decode floor | peak RSS | peak RSS − baseline |",
      "|---|---|---|---|---|---|---|---|",
      ...kinds.map((k) => {
        const m = med[k];
        // Cold contenders compare with the cold raw floor.
        const r = (f) => {
          const g = k.endsWith("-cold") && f === "floor-raw" ? "floor-raw-cold" : f;
          return k === "baseline" || !med[g] || (k.endsWith("-cold") && g !== "floor-raw-cold")
            ? "–"
            : `${(m.ms / med[g].ms).toFixed(2)}×`;
        };
        const above = k === "baseline" || baseRss === null ? "–" : mib(m.maxRssBytes - baseRss);
        return `| ${k} | ${s(m.ms)} | ${s(m.cpuMs)} | ${r("floor-raw")} | ${r("floor-raw-pieces")} | ${r("floor-decode")} | ${mib(m.maxRssBytes)} | ${above} |`;
      }),
      "",
      ...Object.entries(pcbPhases).flatMap(([k, ph]) => [
        `PCB phases, \`${k}\` (medians; wall / CPU of the process): ${ph.map((p) => `${p.label} ${s(p.ms)} / ${s(p.cpuMs)}`).join("; ")}.`,
        "",
      ]),
      `Memory bound (inputs + 2) × largest tensor as f32 = ${MODELS + 3} × ${(largest / 1e6).toFixed(1)} M × 4 B = ${mib(boundBytes)} (the sharded writer writes each tensor at its file offset, so there is no shard buffer).`,
      "",
      `Goals: task arithmetic ≤ 1.5× and PCB (streaming-global) ≤ 3× the raw I/O floor. ${goalLine(summary.ratios)}`,
      "",
      "`baseline` = a process that imports the packages and opens the five checkpoints (its RSS is subtracted). `floor-raw` reads every input tensor's bytes (whole tensors, the five inputs in parallel) and writes the base's bytes as the output; `floor-raw-pieces` does the same in 1 Mi-element pieces with the next piece's reads in flight while the current one is written (the I/O schedule of the fused merge, without computation); `floor-decode` reads whole tensors decoding BF16 → f32 and encodes f32 → BF16 on write. `task_arithmetic` is the default fused path (stored bytes → WebAssembly SIMD kernel → encoded output, piecewise); `-t2` the same with `threads: 2`; `-js` the fused path with WebAssembly SIMD disabled; `-unfused` the general path (decode every input to f32, merge, encode); `-before` the general path without SIMD, i.e. the code as it was before this work. `pcb` runs PCB `streaming-global` (ratio 0.1) with its defaults: the fast path (every input's stored bytes read once into memory, WebAssembly SIMD passes on all cores); `pcb-t1` the same with `threads: 1`; `pcb-general` the general streaming path (`fast_path: false`: passes over decoded tensors with the task store in memory). `-cold` contenders run with the page cache dropped first (inputs read from the disk).",
      "",
    ].join("\n");
    writeFileSync(join(dirOut, `${name}.md`), md);
    console.log(md);
  } finally {
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4]);
else await driver();
