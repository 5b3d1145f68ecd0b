import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { dtypeName } from "./dtype.js";
import type { MergeConfig } from "./schema.js";

/** The config as a mergekit-shaped plain object (snake_case keys), ready for YAML. */
export function toMergekitObject(config: MergeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    models: config.models.map((m) =>
      Object.keys(m.parameters).length > 0
        ? { model: m.model, parameters: m.parameters }
        : { model: m.model },
    ),
    merge_method: config.mergeMethod,
  };
  if (config.baseModel !== undefined) out.base_model = config.baseModel;
  if (Object.keys(config.parameters).length > 0) out.parameters = config.parameters;
  if (config.dtype) out.dtype = dtypeName(config.dtype);
  if (config.outDtype) out.out_dtype = dtypeName(config.outDtype);
  if (config.tokenizerSource !== undefined) out.tokenizer_source = config.tokenizerSource;
  return out;
}

/** mergekit YAML for `mergekit_config.yml` (gradient lists in flow style, like mergekit's dumper). */
export function mergeConfigToYaml(config: MergeConfig): string {
  return stringify(toMergekitObject(config), { collectionStyle: "any", flowCollectionPadding: false });
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** SHA-256 of the canonical JSON of the config (key order does not matter); written into output metadata. */
export function mergeConfigHash(config: MergeConfig, extra: Record<string, unknown> = {}): string {
  const json = JSON.stringify(canonical({ ...toMergekitObject(config), ...extra }));
  return createHash("sha256").update(json).digest("hex");
}
