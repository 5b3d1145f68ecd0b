/** A data file that the page cannot show: the message names the file, the key and what is wrong. */
export class DemoDataError extends Error {
  override readonly name = "DemoDataError";
  constructor(
    readonly file: string,
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${file}: ${key ? `${key}: ` : ""}${problem}`);
  }
}

/** `merging.methods[0].label` from a valibot issue path. */
export function formatIssuePath(path: readonly { key: unknown }[] | undefined): string {
  if (!path || path.length === 0) return "(top level)";
  let out = "";
  for (const item of path) {
    if (typeof item.key === "number") out += `[${item.key}]`;
    else out += out ? `.${String(item.key)}` : String(item.key);
  }
  return out;
}
