// Issue 18: textual-inversion embeddings in prompts, A1111's rule. Expected ids come from the vocabulary file and
// the slot convention (row r of the extra rows is id −1 − r), not from the tokenizer under test.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  EmbeddingVocabulary,
  tokenizePromptPair,
  type ClipTokenizer,
  type TextualInversion,
} from '../../../src/pipeline/tokenizer/index.js';
import { tinyTokenizer, window, windowWeights, wordId } from './fixtures.js';

const A = wordId('a');
const RED = wordId('red');
const CAT = wordId('cat');
const DOG = wordId('dog');

/** An embedding of `count` vectors of width 2, each value its row number (so rows can be told apart). */
function embedding(name: string, count: number, firstRow = 0): TextualInversion {
  return { name, count, vectors: Float32Array.from({ length: count * 2 }, (_, i) => firstRow + Math.floor(i / 2)) };
}

describe('textual-inversion embeddings in prompts', () => {
  let tokenizer: ClipTokenizer;
  let vocabulary: EmbeddingVocabulary;
  before(async () => {
    tokenizer = await tinyTokenizer();
    // Rows: red cat → 0, 1; red → 2; dog → 3, 4, 5.
    vocabulary = new EmbeddingVocabulary(tokenizer, [embedding('red cat', 2), embedding('red', 1, 2), embedding('dog', 3, 3)]);
  });
  const a1111 = (prompt: string) => tokenizePromptPair(tokenizer, prompt, '', 'a1111', vocabulary).prompt;

  test('stacks every vector as the extra rows, in order', () => {
    assert.equal(vocabulary.rowCount, 6);
    assert.deepEqual(Array.from(vocabulary.rows), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  });

  test('the longest name matches first; each vector takes a slot; the prompt lists what it called', () => {
    const prompt = a1111('a red cat, a red dog');
    assert.deepEqual(Array.from(prompt.chunks[0] ?? []), window([A, -1, -2, wordId(','), A, -3, -4, -5, -6]));
    assert.deepEqual(prompt.embeddings, ['red cat', 'red', 'dog']);
  });

  test("an embedding's slots take the weight of the text around it", () => {
    const prompt = a1111('(dog:1.5) cat');
    assert.deepEqual(Array.from(prompt.weights[0] ?? []), windowWeights([1.5, 1.5, 1.5, 1]));
  });

  test('slots that do not fit in the chunk move whole to the next one', () => {
    const prompt = a1111(`${'cat '.repeat(73)}dog`);
    assert.deepEqual(prompt.chunks.map((chunk) => Array.from(chunk)), [window(Array<number>(73).fill(CAT)), window([-4, -5, -6])]);
  });

  test('plain syntax (diffusers) replaces the name by its slots too, before truncating at 75', () => {
    const { prompt } = tokenizePromptPair(tokenizer, 'a red dog', '', 'plain', vocabulary);
    assert.deepEqual(Array.from(prompt.chunks[0] ?? []), window([A, -3, -4, -5, -6]));
    const negative = tokenizePromptPair(tokenizer, 'a cat', 'red', 'plain', vocabulary).negative;
    assert.deepEqual(negative.embeddings, ['red']);
  });

  test('without embeddings the words stay words', () => {
    assert.deepEqual(Array.from(tokenizePromptPair(tokenizer, 'a red dog', '', 'a1111').prompt.chunks[0] ?? []), window([A, RED, DOG]));
  });

  test('refuses an embedding longer than a chunk, an empty one, ragged vectors and a repeated name', () => {
    assert.throws(() => new EmbeddingVocabulary(tokenizer, [embedding('big', 76)]), /big has 76 vectors; a prompt chunk holds 1 to 75/);
    assert.throws(() => new EmbeddingVocabulary(tokenizer, [{ name: 'none', count: 0, vectors: new Float32Array() }]), /none has 0 vectors/);
    const ragged = { name: 'ragged', count: 2, vectors: new Float32Array(3) };
    assert.throws(() => new EmbeddingVocabulary(tokenizer, [embedding('red', 1), ragged]), /ragged holds 3 values, not 2 vectors of 2/);
    assert.throws(() => new EmbeddingVocabulary(tokenizer, [embedding('red', 1), embedding('red', 1)]), /two embeddings are called red/);
  });
});
