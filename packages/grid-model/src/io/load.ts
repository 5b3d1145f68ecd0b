import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type Feeder, FeederError } from "../feeder.js";
import { builtinFeeder, builtinFeederNames } from "../feeders/index.js";
import { parseFeederJson } from "./feeder-json.js";
import { parseMatpower } from "./matpower.js";

/**
 * Resolve a feeder argument: a built-in name ("ieee13", "ieee37", "ieee69", aliases), a `.json` file in the
 * package's feeder format, or a MATPOWER `.m` case file.
 */
export async function loadFeeder(spec: string): Promise<Feeder> {
  const ext = extname(spec).toLowerCase();
  if (ext === ".json" || ext === ".m") {
    let text: string;
    try {
      text = await readFile(spec, "utf8");
    } catch (e) {
      throw new FeederError(
        `${spec}: cannot read feeder file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    return ext === ".json" ? parseFeederJson(text, spec) : parseMatpower(text, { file: spec });
  }
  try {
    return builtinFeeder(spec);
  } catch {
    throw new FeederError(
      `unknown feeder "${spec}": expected a built-in name (${builtinFeederNames().join(", ")}), a .json or a .m file`,
    );
  }
}
