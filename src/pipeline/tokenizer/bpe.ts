import { toByteLevel } from './byte-level.js';

/** CLIP marks the last symbol of every word with this suffix: "cat" ending a word differs from "cat" inside one. */
export const END_OF_WORD = '</w>';

/**
 * Words cached before the cache is emptied. A bot sees an open-ended stream of words; a cap keeps memory
 * bounded while every prompt's repeated words (and the next prompts' common ones) still hit.
 */
const CACHE_LIMIT = 50_000;

/** A vocabulary and its merge list, as read from `vocab.json` + `merges.txt` or a `tokenizer.json`. */
export interface BpeModelData {
  /** Token string → id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge rules, highest priority first: each merges the two symbols into their concatenation. */
  readonly merges: readonly (readonly [string, string])[];
}

/**
 * Byte-pair encoding of single words with CLIP's `</w>` end-of-word suffix: the word's UTF-8 bytes start as
 * one symbol each, then the adjacent pair with the best (lowest) merge rank is joined, everywhere it occurs,
 * until no pair has a rule. Results are cached per word.
 */
export class BytePairEncoder {
  private readonly vocab: ReadonlyMap<string, number>;
  /** `"first second"` → rank. Byte-level symbols never contain a space, so the key is unambiguous. */
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param data vocabulary and merges
   * @param unknownId id for a symbol missing from the vocabulary (CLIP: `<|endoftext|>`); with CLIP's complete
   *   byte alphabet this only happens with a damaged vocabulary
   */
  constructor(
    data: BpeModelData,
    private readonly unknownId: number,
  ) {
    this.vocab = data.vocab;
    data.merges.forEach(([first, second], rank) => this.ranks.set(`${first} ${second}`, rank));
  }

  /** The ids of one pre-tokenized word (already normalized, no whitespace). */
  encodeWord(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const ids = this.mergeSymbols(toByteLevel(word)).map((symbol) => this.vocab.get(symbol) ?? this.unknownId);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /** Applies the merge rules to a byte-level word and returns its final symbols. */
  private mergeSymbols(byteLevelWord: string): string[] {
    let symbols = [...byteLevelWord];
    if (symbols.length === 0) return symbols;
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      const best = this.bestPair(symbols);
      if (best === undefined) break;
      symbols = mergePair(symbols, best[0], best[1]);
    }
    return symbols;
  }

  /** The adjacent pair with the lowest merge rank, or undefined when no pair can merge. */
  private bestPair(symbols: readonly string[]): [string, string] | undefined {
    let bestRank = Infinity;
    let best: [string, string] | undefined;
    for (let i = 0; i + 1 < symbols.length; i += 1) {
      const first = symbols[i] as string;
      const second = symbols[i + 1] as string;
      const rank = this.ranks.get(`${first} ${second}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = [first, second];
      }
    }
    return best;
  }
}

/** Joins every non-overlapping occurrence of `first second`, scanning left to right. */
function mergePair(symbols: readonly string[], first: string, second: string): string[] {
  const merged: string[] = [];
  let i = 0;
  while (i < symbols.length) {
    const symbol = symbols[i] as string;
    if (symbol === first && symbols[i + 1] === second) {
      merged.push(first + second);
      i += 2;
    } else {
      merged.push(symbol);
      i += 1;
    }
  }
  return merged;
}
