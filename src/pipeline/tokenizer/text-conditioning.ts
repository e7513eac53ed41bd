import { chunkPrompt } from './a1111-chunks.js';
import { parsePromptAttention } from './attention.js';
import type { ClipTokenizer } from './clip-tokenizer.js';
import { EmbeddingVocabulary } from './embeddings.js';
import { tokenizePlain } from './plain-prompt.js';
import { padToChunkCount, type PromptTokens } from './prompt-tokens.js';
import { removeUnsupportedSyntax } from './unsupported-syntax.js';

/**
 * How a prompt is read:
 * - `plain`: diffusers' way: the text as written, truncated to 75 tokens, one window, all weights 1.
 * - `a1111`: AUTOMATIC1111's attention syntax and unlimited length in 75-token chunks (the bot's default).
 */
export type PromptSyntax = 'plain' | 'a1111';

/** Token windows for classifier-free guidance, ready for the text encoder. */
export interface TextConditioningTokens {
  readonly prompt: PromptTokens;
  /** Has as many chunks as `prompt`. */
  readonly negative: PromptTokens;
  /** Sentences for the user about what was dropped or ignored, each starting "Prompt:" or "Negative prompt:". */
  readonly warnings: string[];
}

/**
 * Tokenizes a prompt and its negative prompt (`''` for none) for one generation. Both end with the same number
 * of chunks: the shorter is padded with windows of the empty prompt, as A1111 does with `pad_cond_uncond`.
 * The names of `embeddings` become their token slots (negative ids, see `EmbeddingVocabulary`).
 */
export function tokenizePromptPair(
  tokenizer: ClipTokenizer,
  prompt: string,
  negative: string,
  syntax: PromptSyntax,
  embeddings: EmbeddingVocabulary = EmbeddingVocabulary.none(tokenizer),
): TextConditioningTokens {
  const tokenize = syntax === 'plain' ? tokenizePlain : tokenizeA1111;
  const positive = tokenize(tokenizer, prompt, embeddings);
  const unconditional = tokenize(tokenizer, negative, embeddings);
  const chunkCount = Math.max(positive.tokens.chunks.length, unconditional.tokens.chunks.length);
  return {
    prompt: padToChunkCount(tokenizer, positive.tokens, chunkCount),
    negative: padToChunkCount(tokenizer, unconditional.tokens, chunkCount),
    warnings: [
      ...positive.notices.map((notice) => `Prompt: ${notice}`),
      ...unconditional.notices.map((notice) => `Negative prompt: ${notice}`),
    ],
  };
}

/** A1111's reading of one prompt: unsupported syntax removed, attention weights parsed, 75-token chunks. */
function tokenizeA1111(
  tokenizer: ClipTokenizer,
  text: string,
  embeddings: EmbeddingVocabulary,
): { tokens: PromptTokens; notices: string[] } {
  const cleaned = removeUnsupportedSyntax(text);
  const parsed = parsePromptAttention(cleaned.text);
  return { tokens: chunkPrompt(tokenizer, parsed.parts, embeddings), notices: [...cleaned.notices, ...parsed.notices] };
}
