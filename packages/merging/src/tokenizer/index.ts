// Tokenizer merges: the output vocabulary (base, union or a model's), embedding rows for it, the
// tokenizer files, and chat template selection.
export { type BuiltVocabulary, buildVocabulary, type TokenizerInput } from "./build.js";
export { builtinChatTemplates, resolveChatTemplate } from "./chat-template.js";
export { type EmbeddingInput, type PermuteOptions, permuteEmbeddings } from "./embed.js";
export {
  readChatTemplate,
  readTokenizerFiles,
  setChatTemplate,
  type TokenizerFiles,
  writeTokenizerFiles,
} from "./files.js";
export { MergeTokenizer, type MergeTokenizerInput } from "./merge.js";
export { type AddedToken, TokenizerError, TokenizerJson, type TokenizerJsonObject } from "./vocab.js";
