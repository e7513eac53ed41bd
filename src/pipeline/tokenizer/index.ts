// The tokenizer's public API: the CLIP tokenizer, and the text-conditioning tokens the generation pipeline feeds
// to the text encoder (with the weights it applies to the encoder's output).
export { CHUNK_LENGTH, CONTEXT_LENGTH, ClipTokenizer, type SpecialTokenMatching } from './clip-tokenizer.js';
export type { PromptTokens } from './prompt-tokens.js';
export { EmbeddingVocabulary, type PromptPiece, type TextualInversion } from './embeddings.js';
export { applyPromptWeights } from './prompt-weights.js';
export {
  EMPHASIS_MODES,
  tokenizePrompt,
  tokenizePromptPair,
  type Emphasis,
  type PromptSyntax,
  type TextConditioningTokens,
} from './text-conditioning.js';
