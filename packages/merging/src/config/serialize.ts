import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { dtypeName } from "./dtype.js";
import type { MergeConfig, ModelEntry, ParameterMap, SliceEntry, TokenEmbeddingSource } from "./schema.js";

const withParams = <T extends object>(
  head: T,
  parameters: ParameterMap,
): T & { parameters?: ParameterMap } => (Object.keys(parameters).length > 0 ? { ...head, parameters } : head);

const modelsOf = (models: readonly ModelEntry[]) =>
  models.map((m) => withParams({ model: m.model }, m.parameters));

function slicesOf(slices: readonly SliceEntry[]): Record<string, unknown>[] {
  return slices.map((s) => {
    const out: Record<string, unknown> = {
      sources: s.sources.map((src) =>
        withParams({ model: src.model, layer_range: [...src.layerRange] }, src.parameters),
      ),
    };
    if (s.baseModel !== undefined) out.base_model = s.baseModel;
    if (s.residualWeight !== undefined) out.residual_weight = s.residualWeight;
    return withParams(out, s.parameters);
  });
}

function tokenSourceOf(src: TokenEmbeddingSource): unknown {
  if (src.kind === "model") return src.model;
  if (src.kind === "zero") return { kind: "zero" };
  return src.token !== undefined
    ? { kind: "model_token", model: src.model, token: src.token }
    : { kind: "model_token", model: src.model, token_id: src.tokenId };
}

/** The config as a mergekit-shaped plain object (snake_case keys), ready for YAML. */
export function toMergekitObject(config: MergeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config.modules !== undefined) {
    out.modules = Object.fromEntries(
      Object.entries(config.modules).map(([name, m]) => [
        name,
        withParams(
          m.slices ? { slices: slicesOf(m.slices) } : { models: modelsOf(m.models ?? []) },
          m.parameters,
        ),
      ]),
    );
  } else if (config.slices !== undefined) out.slices = slicesOf(config.slices);
  else out.models = modelsOf(config.models);
  out.merge_method = config.mergeMethod;
  if (config.baseModel !== undefined) out.base_model = config.baseModel;
  if (Object.keys(config.parameters).length > 0) out.parameters = config.parameters;
  if (config.dtype) out.dtype = dtypeName(config.dtype);
  if (config.outDtype) out.out_dtype = dtypeName(config.outDtype);
  if (config.tokenizerSource !== undefined) out.tokenizer_source = config.tokenizerSource;
  if (config.tokenizer !== undefined) {
    const t = config.tokenizer;
    const tok: Record<string, unknown> = { source: t.source };
    if (Object.keys(t.tokens).length > 0) {
      tok.tokens = Object.fromEntries(
        Object.entries(t.tokens).map(([name, s]) => [
          name,
          {
            ...(s.source ? { source: tokenSourceOf(s.source) } : {}),
            ...(s.force ? { force: true } : {}),
          },
        ]),
      );
    }
    if (t.padToMultipleOf !== undefined) tok.pad_to_multiple_of = t.padToMultipleOf;
    out.tokenizer = tok;
  }
  if (config.chatTemplate !== undefined) out.chat_template = config.chatTemplate;
  if (config.architectureFiles !== undefined) out.architecture_files = [...config.architectureFiles];
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
