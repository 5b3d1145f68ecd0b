// chat_template selection (mergekit's): "auto" takes the template most inputs share, a built-in name
// (alpaca, chatml, llama3, mistral, exaone — data/chat-templates/*.jinja) takes that template, and any
// other value is used as a Jinja template itself when it looks like one (≥ 20 characters with a "{").

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MergeConfigError } from "../config/index.js";

const TEMPLATE_DIR = fileURLToPath(new URL("../../data/chat-templates/", import.meta.url));

/** Names of the built-in chat templates. */
export function builtinChatTemplates(): string[] {
  return readdirSync(TEMPLATE_DIR)
    .filter((f) => f.endsWith(".jinja"))
    .map((f) => f.slice(0, -".jinja".length))
    .sort();
}

/**
 * The chat template `setting` selects. `inputTemplates` are the inputs' own templates (read only for
 * "auto"; undefined entries have none). Undefined when "auto" finds none.
 */
export function resolveChatTemplate(
  setting: string,
  inputTemplates: () => readonly (string | undefined)[],
): string | undefined {
  if (setting === "auto") {
    const counts = new Map<string, number>();
    for (const t of inputTemplates()) {
      const key = t?.trim();
      if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    let best: string | undefined;
    let most = 0;
    for (const [t, c] of counts) {
      if (c > most) {
        best = t;
        most = c;
      }
    }
    return best;
  }
  if (/^[\w.-]+$/.test(setting)) {
    const file = join(TEMPLATE_DIR, `${setting}.jinja`);
    if (existsSync(file)) return readFileSync(file, "utf8");
  }
  if (setting.length < 20 || !setting.includes("{")) {
    throw new MergeConfigError(
      `chat_template '${setting}' is not a built-in template (${builtinChatTemplates().join(", ")}), 'auto', or a Jinja template`,
    );
  }
  return setting;
}
