import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { removeDeadTemporaries, writeFileAtomic } from "@x/tensor-core";
import { SnnConfigError } from "../errors.js";

/** The file of a CADE checkpoint directory that holds the settings of its run. */
export const CADE_RUN_FILE = "x-snn-cade.json";

/** A resumed CADE run whose settings differ from the stored ones; `keys` names the top-level settings. */
export class CadeSettingsError extends SnnConfigError {
  constructor(
    readonly dir: string,
    readonly keys: readonly string[],
  ) {
    super(`${dir} holds a run with other settings (${keys.join(", ")})`);
  }
}

/**
 * Records a CADE run's settings (any JSON object: model, data digests, arm, budget, seed) in `dir`, or with
 * `resume`, when `dir` already holds them, checks they are equal key by key: a CadeSettingsError naming the
 * keys that differ. The file is written atomically; temporaries of killed writers in `dir` are removed.
 */
export async function checkCadeRunSettings(
  dir: string,
  settings: Readonly<Record<string, unknown>>,
  resume: boolean,
): Promise<void> {
  const file = join(dir, CADE_RUN_FILE);
  removeDeadTemporaries(dir);
  if (resume && existsSync(file)) {
    const stored = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    const differs = Object.keys({ ...stored, ...settings }).filter(
      (k) => JSON.stringify(stored[k]) !== JSON.stringify(settings[k]),
    );
    if (differs.length) throw new CadeSettingsError(dir, differs);
    return;
  }
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(settings, null, 1)}\n`);
}
