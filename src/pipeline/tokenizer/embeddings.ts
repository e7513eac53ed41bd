// Textual-inversion embeddings in prompts, A1111's way (modules/textual_inversion, `find_embedding_at_position`):
// an embedding's name, tokenized like the prompt, is matched on the prompt's tokens, longest name first, and its
// n vectors take n token slots. A slot holds a negative id, −1 − r for row r of the extra rows the text encoder
// reads, so the windows stay plain id arrays.
import { CHUNK_LENGTH, type ClipTokenizer } from './clip-tokenizer.js';

/** A textual-inversion embedding: vectors that stand for a word, its name, in prompts. */
export interface TextualInversion {
  /** The word that calls it (A1111: the file name without extension). */
  readonly name: string;
  /** `[count, width]`, row-major. */
  readonly vectors: Float32Array;
  /** Vectors, each taking one token slot: 1–75. */
  readonly count: number;
  /**
   * An SDXL embedding's vectors for the second text encoder (its file's `clip_g`; `vectors` are `clip_l`),
   * `[count, width]`; absent for an embedding of one encoder (SD 1.x / 2.x).
   */
  readonly secondVectors?: Float32Array;
}

/** One step of a tokenized prompt: a vocabulary id, or an embedding's slots (which stay together in one chunk). */
export type PromptPiece = { readonly id: number } | { readonly embedding: string; readonly ids: readonly number[] };

interface Entry {
  readonly name: string;
  readonly nameIds: readonly number[];
  readonly slots: readonly number[];
}

/** The embeddings a model's prompts may call, with the extra rows they add to the text encoder's token table. */
export class EmbeddingVocabulary {
  /** Every embedding's vectors, one after another: `[rows, width]`. */
  readonly rows: Float32Array;
  readonly rowCount: number;
  /** Every embedding's name. */
  readonly names: readonly string[];
  /** By the first token of their name, longest name first. */
  readonly #byFirstToken = new Map<number, Entry[]>();

  /**
   * @throws RangeError when an embedding has no vectors or more than a chunk holds (75), or its vectors are not
   *   `count` rows of one width, or two embeddings share a name.
   */
  constructor(tokenizer: ClipTokenizer, embeddings: readonly TextualInversion[]) {
    const width = embeddings[0] ? embeddings[0].vectors.length / embeddings[0].count : 0;
    this.rowCount = embeddings.reduce((sum, e) => sum + e.count, 0);
    this.rows = new Float32Array(this.rowCount * width);
    const names = new Set<string>();
    this.names = embeddings.map((e) => e.name);
    let row = 0;
    for (const embedding of embeddings) {
      checkEmbedding(embedding, width, names);
      this.rows.set(embedding.vectors, row * width);
      const slots = Array.from({ length: embedding.count }, (_, i) => -1 - (row + i));
      row += embedding.count;
      const nameIds = tokenizer.encode(embedding.name, 'boundaries');
      const [first] = nameIds;
      if (first === undefined) continue;
      const entries = this.#byFirstToken.get(first) ?? [];
      entries.push({ name: embedding.name, nameIds, slots });
      entries.sort((a, b) => b.nameIds.length - a.nameIds.length);
      this.#byFirstToken.set(first, entries);
    }
  }

  /** No embeddings. */
  static none(tokenizer: ClipTokenizer): EmbeddingVocabulary {
    return new EmbeddingVocabulary(tokenizer, []);
  }

  /** `ids` with every embedding's name replaced by its slots, matched left to right, longest name first. */
  pieces(ids: readonly number[]): PromptPiece[] {
    const pieces: PromptPiece[] = [];
    for (let position = 0; position < ids.length; ) {
      const id = ids[position] ?? 0;
      const match = this.#byFirstToken.get(id)?.find((entry) => entry.nameIds.every((n, i) => ids[position + i] === n));
      if (match) {
        pieces.push({ embedding: match.name, ids: match.slots });
        position += match.nameIds.length;
      } else {
        pieces.push({ id });
        position += 1;
      }
    }
    return pieces;
  }
}

function checkEmbedding(embedding: TextualInversion, width: number, names: Set<string>): void {
  const { name, count, vectors } = embedding;
  if (!Number.isInteger(count) || count < 1 || count > CHUNK_LENGTH) {
    throw new RangeError(`embedding ${name} has ${count} vectors; a prompt chunk holds 1 to ${CHUNK_LENGTH}`);
  }
  if (vectors.length !== count * width) {
    throw new RangeError(`embedding ${name} holds ${vectors.length} values, not ${count} vectors of ${width}`);
  }
  if (names.has(name)) throw new RangeError(`two embeddings are called ${name}`);
  names.add(name);
}
