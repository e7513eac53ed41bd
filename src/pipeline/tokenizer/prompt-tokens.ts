import { CHUNK_LENGTH, CONTEXT_LENGTH, type ClipTokenizer } from './clip-tokenizer.js';

/**
 * One prompt as the text encoder takes it: `chunks[i]` is a 77-token window (BOS, up to 75 tokens, EOS, pad),
 * encoded on its own; the encoder outputs are concatenated along the token axis (77·k context tokens).
 * `weights[i][j]` multiplies the encoder output of token `j` of chunk `i` (1 for BOS, EOS and pad).
 */
export interface PromptTokens {
  readonly chunks: Int32Array[];
  readonly weights: Float32Array[];
  /** The textual-inversion embeddings the prompt calls, by name, as often as it calls them. */
  readonly embeddings: string[];
}

/** The special ids a window needs. */
export type WindowTokens = Pick<ClipTokenizer, 'bosId' | 'eosId' | 'padId'>;

/**
 * Wraps up to 75 ids as one 77-token window: BOS, ids, EOS, then the pad id to the end (EOS in SD 1.x, 0 in
 * SD 2.x — A1111 writes the pad id after the first EOS, the same positions unless a prompt types
 * `<|endoftext|>` itself).
 * @param weights one per id; omitted means all 1
 */
export function contextWindow(
  special: WindowTokens,
  ids: readonly number[],
  weights?: readonly number[],
): { ids: Int32Array; weights: Float32Array } {
  if (ids.length > CHUNK_LENGTH) throw new RangeError(`a window holds at most ${CHUNK_LENGTH} ids, got ${ids.length}`);
  if (weights !== undefined && weights.length !== ids.length) {
    throw new RangeError(`${ids.length} ids but ${weights.length} weights`);
  }
  const windowIds = new Int32Array(CONTEXT_LENGTH).fill(special.padId);
  windowIds[0] = special.bosId;
  windowIds.set(ids, 1);
  windowIds[ids.length + 1] = special.eosId;
  const windowWeights = new Float32Array(CONTEXT_LENGTH).fill(1);
  if (weights !== undefined) windowWeights.set(weights, 1);
  return { ids: windowIds, weights: windowWeights };
}

/** Appends windows until `tokens` has `count` chunks; each added one is the empty prompt's (BOS, EOS, pad). */
export function padToChunkCount(special: WindowTokens, tokens: PromptTokens, count: number): PromptTokens {
  const chunks = [...tokens.chunks];
  const weights = [...tokens.weights];
  while (chunks.length < count) {
    const empty = contextWindow(special, []);
    chunks.push(empty.ids);
    weights.push(empty.weights);
  }
  return { chunks, weights, embeddings: tokens.embeddings };
}
