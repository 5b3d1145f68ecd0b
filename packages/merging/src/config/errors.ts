/** A merge configuration that cannot be used: names the file (when known) and the offending key or value. */
export class MergeConfigError extends Error {
  override readonly name = "MergeConfigError";
  constructor(
    message: string,
    /** The config file, when the config came from one. */
    readonly source?: string,
  ) {
    super(source ? `${source}: ${message}` : message);
  }
}
