/**
 * The settings of an `x evolve` run that change its result, as they join the checkpoint's fingerprint: the
 * algorithm and its budget, the merge block (only the keys its method reads), the evaluator (its command, the
 * digests of the files its arguments name, the zoo's files), the data (the evolved weights of every
 * population member and the base, the statistics files) by SHA-256, and the seed. `--resume` with any of
 * them changed is refused naming the key (`settings.merge.lambda`, `settings.data.population[1]`).
 * Not included: where the evaluations run (locally or on queue workers), how many at once, the timeout.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileDigest } from "@x/evolution";
import { type EvolveConfig, MERGE_KEYS_OF } from "./config.js";
import type { LoadedPopulation } from "./setup.js";

const short = (hex: string) => `sha256:${hex.slice(0, 16)}`;

function arrayDigest(a: Float32Array): string {
  return short(
    createHash("sha256")
      .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
      .digest("hex"),
  );
}

async function fileSha(path: string): Promise<string> {
  return short((await fileDigest(path)).sha256);
}

/** Every file under `dir`, sorted, hashed into one digest (a zoo directory: heads, zoo.json). */
async function dirDigest(dir: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) await walk(p, `${rel}${name}/`);
      else if (st.isFile()) h.update(`${rel}${name}\0${(await fileDigest(p)).sha256}\n`);
    }
  };
  await walk(dir, "");
  return short(h.digest("hex"));
}

/** Digests of the evaluator command's arguments that name existing files (the scoring script, its data). */
async function commandFiles(command: readonly string[], cwd: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // argv[0] is the interpreter (node, python, sh): its upgrades are not a change of the run.
  for (const arg of command.slice(1)) {
    if (arg.includes("{model}") || arg === "") continue;
    const p = isAbsolute(arg) ? arg : resolve(cwd, arg);
    try {
      if (existsSync(p) && statSync(p).isFile()) out[arg] = await fileSha(p);
    } catch {
      // not a readable file: only the argument text counts
    }
  }
  return out;
}

export async function runSettings(
  cfg: EvolveConfig,
  pop: LoadedPopulation,
): Promise<Record<string, unknown>> {
  const m = cfg.merge;
  // The keys the method reads; statistics files are data (by digest, below).
  const merge = m
    ? Object.fromEntries([
        ["method", m.method],
        ...MERGE_KEYS_OF[m.method].filter((k) => k !== "stats").map((k) => [k, m[k]]),
      ])
    : null;
  const evaluator = cfg.zoo
    ? { zoo: cfg.zoo, zooFiles: await dirDigest(cfg.zoo) }
    : { command: cfg.command, cwd: cfg.cwd, files: await commandFiles(cfg.command ?? [], cfg.cwd) };
  const common = {
    algorithm: cfg.algorithm,
    seed: cfg.seed,
    include: cfg.include?.source ?? null,
    exclude: cfg.exclude?.source ?? null,
    merge,
    evaluator,
    data: {
      population: pop.genomes.map(arrayDigest),
      base: pop.base ? arrayDigest(pop.base) : null,
      stats: m?.stats ? await Promise.all(m.stats.map(fileSha)) : null,
    },
  };
  if (cfg.algorithm === "cmaes") return { ...common, cmaes: { ...cfg.cmaes } };
  return { ...common, mode: cfg.mode, f: cfg.f, cr: cfg.cr, generations: cfg.generations };
}
