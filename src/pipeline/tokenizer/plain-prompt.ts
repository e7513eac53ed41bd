import { CHUNK_LENGTH, type ClipTokenizer } from './clip-tokenizer.js';
import type { EmbeddingVocabulary } from './embeddings.js';
import { contextWindow, type PromptTokens } from './prompt-tokens.js';

/** Longest excerpt of dropped text quoted in a notice, in characters, so it fits a chat message. */
const EXCERPT_LENGTH = 120;

/**
 * diffusers' prompt handling: the text as written (no syntax), an embedding's name replaced by its slots
 * (`load_textual_inversion`'s added tokens), truncated to 75 tokens, one window with all weights 1. Truncation
 * yields a notice saying how much was dropped and what.
 */
export function tokenizePlain(
  tokenizer: ClipTokenizer,
  text: string,
  vocabulary: EmbeddingVocabulary,
): { tokens: PromptTokens; notices: string[] } {
  const pieces = vocabulary.pieces(tokenizer.encode(text));
  const ids = pieces.flatMap((piece) => ('ids' in piece ? piece.ids : [piece.id]));
  const window = contextWindow(tokenizer, ids.slice(0, CHUNK_LENGTH));
  const dropped = ids.slice(CHUNK_LENGTH);
  const embeddings = pieces.flatMap((piece) => ('embedding' in piece ? [piece.embedding] : []));
  const notices =
    dropped.length === 0
      ? []
      : [
          `${ids.length} tokens, but CLIP reads only ${CHUNK_LENGTH}: the last ${dropped.length} were dropped ` +
            `(${JSON.stringify(excerpt(tokenizer.decode(dropped.filter((id) => id >= 0))))}).`,
        ];
  return { tokens: { chunks: [window.ids], weights: [window.weights], embeddings }, notices };
}

function excerpt(text: string): string {
  return text.length <= EXCERPT_LENGTH ? text : `${text.slice(0, EXCERPT_LENGTH - 1)}…`;
}
