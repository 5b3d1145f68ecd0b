// The tokenizer side of a merge, as the executor uses it: read every input's tokenizer files, build the
// output vocabulary, permute each vocabulary-indexed tensor's inputs to it, write the tokenizer files.

import { type ConfigJson, configValue } from "../architecture/index.js";
import type { TokenizerSettings } from "../config/index.js";
import type { VocabularyPermuter } from "../exec/inputs.js";
import { type BuiltVocabulary, buildVocabulary } from "./build.js";
import { permuteEmbeddings } from "./embed.js";
import { readTokenizerFiles, type TokenizerFiles, writeTokenizerFiles } from "./files.js";
import { TokenizerError } from "./vocab.js";

export interface MergeTokenizerInput {
  readonly settings: TokenizerSettings;
  /** The merge's inputs (references and resolved paths), aligned with their config.json objects. */
  readonly refs: readonly string[];
  readonly paths: readonly string[];
  readonly configs: readonly (ConfigJson | undefined)[];
  /** The base model's index in `refs` (mergekit: the base model, else the first model). */
  readonly base: number;
  /** Dotted config.json key of the vocabulary size (default `vocab_size`). */
  readonly vocabKey?: string;
  /** The resolved path of a `<model>` tokenizer source that is not among the inputs. */
  readonly sourcePath?: string;
  readonly onWarning?: (message: string) => void;
}

export class MergeTokenizer {
  private constructor(
    readonly built: BuiltVocabulary,
    private readonly refs: readonly string[],
    private readonly settings: TokenizerSettings,
    /** The files the output tokenizer's config and special tokens come from. */
    private readonly donor: TokenizerFiles,
    private readonly onWarning?: (message: string) => void,
  ) {}

  static async build(input: MergeTokenizerInput): Promise<MergeTokenizer> {
    const { settings, refs } = input;
    const files = await Promise.all(input.paths.map((p) => readTokenizerFiles(p)));
    const key = input.vocabKey ?? "vocab_size";
    const inputs = refs.map((ref, i) => {
      const v = input.configs[i] ? configValue(input.configs[i]!, key) : undefined;
      return {
        ref,
        ...(files[i]!.tokenizer ? { tokenizer: files[i]!.tokenizer } : {}),
        ...(typeof v === "number" && Number.isInteger(v) && v > 0 ? { vocabSize: v } : {}),
      };
    });
    let donor = files[input.base]!;
    if (settings.source !== "base" && settings.source !== "union") {
      const at = refs.indexOf(settings.source);
      donor = at >= 0 ? files[at]! : await readTokenizerFiles(input.sourcePath ?? settings.source);
      if (!donor.tokenizer) {
        throw new TokenizerError(`tokenizer source ${settings.source} has no tokenizer.json (${donor.dir})`);
      }
    }
    const built = buildVocabulary(inputs, input.base, settings, donor.tokenizer);
    for (const ref of built.assumedBase) {
      input.onWarning?.(`model ${ref} has no tokenizer.json; assuming the base model's vocabulary for it`);
    }
    return new MergeTokenizer(built, refs, settings, donor, input.onWarning);
  }

  /** Rows of the output embedding matrices. */
  get rows(): number {
    return this.built.rows;
  }

  /** The output vocabulary size (before padding), for config.json. */
  get vocabSize(): number {
    return this.built.rows;
  }

  /** Rebuilds a vocabulary-indexed tensor's inputs on the output vocabulary (see tokenizer/embed.ts). */
  permuter(tensor: string): VocabularyPermuter {
    return (inputs, tensors, cols, withBase) =>
      permuteEmbeddings(
        this.built,
        inputs.map((input, k) => ({ input, data: tensors[k]!.data, rows: tensors[k]!.rows })),
        {
          cols,
          base: withBase ? 0 : -1,
          tokens: this.settings.tokens,
          inputOf: (ref) => {
            const i = this.refs.indexOf(ref);
            return i < 0 ? undefined : i;
          },
          tensor,
          labelOf: (i) => this.refs[i] ?? String(i),
          onMissing: (tokens) =>
            this.onWarning?.(
              `tensor '${tensor}': no input has token${tokens.length > 1 ? "s" : ""} ${tokens
                .slice(0, 5)
                .map((t) => JSON.stringify(t))
                .join(
                  ", ",
                )}${tokens.length > 5 ? ` and ${tokens.length - 5} more` : ""}; ${tokens.length > 1 ? "their rows are" : "its row is"} zero`,
            ),
        },
      );
  }

  /** Writes the tokenizer files into `outDir` (with `chatTemplate` when one was selected). */
  write(outDir: string, chatTemplate?: string): Promise<string[]> {
    return writeTokenizerFiles(outDir, this.built, this.donor, chatTemplate);
  }
}
