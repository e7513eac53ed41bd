// A port of A1111's `tokenize_line` (modules/sd_hijack_clip.py, v1.10): tokens go into 75-token chunks; BREAK
// closes the current chunk; a full chunk whose last 20 tokens contain a comma hands the text after that comma to
// the next chunk, so that phrases are not cut in half; an embedding's slots move whole to the next chunk when
// they do not fit.

import type { AttentionPart } from './attention.js';
import { CHUNK_LENGTH, type ClipTokenizer } from './clip-tokenizer.js';
import type { EmbeddingVocabulary } from './embeddings.js';
import { contextWindow, type PromptTokens } from './prompt-tokens.js';

/** A1111's `comma_padding_backtrack` default: how far back (in tokens) a comma may lie to move text after it. */
const COMMA_BACKTRACK = 20;

/** The token of a comma that ends a word (`",</w>"`, 267 in CLIP). */
const COMMA = ',</w>';

/**
 * Turns parsed prompt parts into 77-token windows. Each text part is tokenized on its own (so a word split by
 * brackets, `beau(ti)ful`, is three words), with only `<|startoftext|>`/`<|endoftext|>` special, as in A1111.
 * An empty prompt gives one window of BOS, EOS and padding. Names of `embeddings` become their slots.
 */
export function chunkPrompt(
  tokenizer: ClipTokenizer,
  parts: readonly AttentionPart[],
  embeddings: EmbeddingVocabulary,
): PromptTokens {
  const comma = tokenizer.tokenId(COMMA);
  const result: PromptTokens = { chunks: [], weights: [], embeddings: [] };
  let ids: number[] = [];
  let weights: number[] = [];
  let lastComma = -1;
  const closeChunk = (): void => {
    const window = contextWindow(tokenizer, ids, weights);
    result.chunks.push(window.ids);
    result.weights.push(window.weights);
    ids = [];
    weights = [];
    lastComma = -1;
  };

  for (const part of parts) {
    if (part.kind === 'break') {
      closeChunk();
      continue;
    }
    for (const piece of embeddings.pieces(tokenizer.encode(part.text, 'boundaries'))) {
      const id = 'id' in piece ? piece.id : undefined;
      if (id === comma) {
        lastComma = ids.length;
      } else if (ids.length === CHUNK_LENGTH && lastComma !== -1 && ids.length - lastComma <= COMMA_BACKTRACK) {
        const movedIds = ids.splice(lastComma + 1);
        const movedWeights = weights.splice(lastComma + 1);
        closeChunk();
        ids = movedIds;
        weights = movedWeights;
      }
      if (ids.length === CHUNK_LENGTH) closeChunk();
      const slots = 'ids' in piece ? piece.ids : [piece.id];
      if (ids.length + slots.length > CHUNK_LENGTH) closeChunk();
      if ('embedding' in piece) result.embeddings.push(piece.embedding);
      ids.push(...slots);
      weights.push(...slots.map(() => part.weight));
    }
  }
  if (ids.length > 0 || result.chunks.length === 0) closeChunk();
  return result;
}
