// Shared test data: the tiny-sd tokenizer folder, its vocabulary read directly (so that expected ids come from
// the vocabulary file, not from the tokenizer under test), and the diffusers reference token ids.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { ClipTokenizer } from '../../../src/pipeline/tokenizer/index.js';

export const MODEL_DIR = fileURLToPath(new URL('../../fixtures/tiny-sd/', import.meta.url));
export const TOKENIZER_DIR = `${MODEL_DIR}tokenizer/`;

export const BOS = 49406;
export const EOS = 49407;

const vocab = JSON.parse(readFileSync(`${TOKENIZER_DIR}vocab.json`, 'utf8')) as Record<string, number>;

/** The id of a word that is one token at a word's end (`"cat"` → id of `cat</w>`). */
export function wordId(word: string): number {
  const id = vocab[`${word}</w>`];
  if (id === undefined) throw new Error(`test setup: ${JSON.stringify(word)} is not one token`);
  return id;
}

/** One diffusers reference case: `fast` is padded/truncated to 77, `untruncated` holds every id. */
export interface TokenizerReference {
  readonly prompt: string;
  readonly slow: number[];
  readonly fast: number[];
  readonly untruncated: number[];
}

const REFERENCES_PATH = fileURLToPath(new URL('../../fixtures/references/references.json', import.meta.url));

export const TOKENIZER_REFERENCES = (
  JSON.parse(readFileSync(REFERENCES_PATH, 'utf8')) as { tokenizer: TokenizerReference[] }
).tokenizer;

let loaded: Promise<ClipTokenizer> | undefined;

/** The tiny-sd tokenizer, loaded once per test file. */
export function tinyTokenizer(): Promise<ClipTokenizer> {
  loaded ??= ClipTokenizer.load(TOKENIZER_DIR);
  return loaded;
}

/** A 77-long window: BOS, `ids`, EOS, then `pad` to the end. */
export function window(ids: readonly number[], pad = EOS): number[] {
  return [BOS, ...ids, EOS, ...Array<number>(75 - ids.length).fill(pad)];
}

/** Window weights: 1 for BOS, `weights`, then 1 for EOS and padding; float32 like the real ones. */
export function windowWeights(weights: readonly number[]): number[] {
  return Array.from(Float32Array.from([1, ...weights, ...Array<number>(76 - weights.length).fill(1)]));
}
