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

/**
 * A1111's "Emphasis mode" setting, how `(word:1.2)` weights act (modules/sd_emphasis.py):
 * - `Original`: each token's vectors × its weight, then the chunk rescaled to its former mean (A1111's default);
 * - `No norm`: the weights without the rescaling;
 * - `None`: no attention syntax at all: brackets and `BREAK` are read as text.
 */
export const EMPHASIS_MODES = ['Original', 'No norm', 'None'] as const;

export type Emphasis = (typeof EMPHASIS_MODES)[number];

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
  const positive = tokenizePrompt(tokenizer, prompt, syntax, embeddings);
  const unconditional = tokenizePrompt(tokenizer, negative, syntax, embeddings);
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

/**
 * One prompt's token windows, alone (A1111 runs a prompt and a negative prompt of different lengths apart); the
 * notices say what was dropped or ignored. With `emphasis` `None` A1111 reads no attention syntax.
 */
export function tokenizePrompt(
  tokenizer: ClipTokenizer,
  text: string,
  syntax: PromptSyntax,
  embeddings: EmbeddingVocabulary = EmbeddingVocabulary.none(tokenizer),
  emphasis: Emphasis = 'Original',
): { tokens: PromptTokens; notices: string[] } {
  if (syntax === 'plain') return tokenizePlain(tokenizer, text, embeddings);
  const cleaned = removeUnsupportedSyntax(text);
  if (emphasis === 'None') {
    const parts = [{ kind: 'text', text: cleaned.text, weight: 1 }] as const;
    return { tokens: chunkPrompt(tokenizer, parts, embeddings), notices: cleaned.notices };
  }
  const parsed = parsePromptAttention(cleaned.text);
  return { tokens: chunkPrompt(tokenizer, parsed.parts, embeddings), notices: [...cleaned.notices, ...parsed.notices] };
}
