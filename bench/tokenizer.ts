// Tokenizer speed on a 1,000-word prompt (goal: under 5 ms), plain and A1111 syntax.
import { fileURLToPath } from 'node:url';

import { ClipTokenizer, tokenizePromptPair, type PromptSyntax } from '../src/pipeline/tokenizer/index.js';

const TOKENIZER_DIR = fileURLToPath(new URL('../test/fixtures/tiny-sd/tokenizer/', import.meta.url));
const WORDS = 1000;
const WARM_UP_RUNS = 10;
const TIMED_RUNS = 50;

const VOCABULARY = [
  'masterpiece', 'best', 'quality', 'portrait', 'of', 'a', 'knight', 'in', 'ornate', 'silver', 'armor', 'standing',
  'on', 'misty', 'mountain', 'ridge', 'at', 'dawn', 'volumetric', 'lighting', 'cinematic', 'composition',
  'highly', 'detailed', 'intricate', 'engraving', 'dramatic', 'clouds', 'golden', 'hour', 'depth', 'field',
  'sharp', 'focus', 'trending', 'artstation', 'octane', 'render', '8k', 'photorealistic', 'café', 'crème',
];

/**
 * A deterministic prompt of `WORDS` words with a comma every fifth word and, for A1111, an emphasis group
 * every 25 words, so that parsing and the comma backtrack take part.
 */
function benchPrompt(syntax: PromptSyntax): string {
  const words: string[] = [];
  for (let i = 0; i < WORDS; i += 1) {
    let word = VOCABULARY[(i * 7 + Math.floor(i / VOCABULARY.length)) % VOCABULARY.length] as string;
    if (syntax === 'a1111' && i % 25 === 0) word = `(${word}:1.2)`;
    words.push(i % 5 === 4 ? `${word},` : word);
  }
  return words.join(' ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const upper = sorted[sorted.length >> 1] as number;
  const lower = sorted[(sorted.length - 1) >> 1] as number;
  return (lower + upper) / 2;
}

/** Milliseconds for one call. */
function time(run: () => unknown): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/** Prints the load time, the first (cold-cache) call and the median of warm calls for each syntax. */
export async function benchTokenizer(): Promise<void> {
  const loadStart = performance.now();
  const tokenizer = await ClipTokenizer.load(TOKENIZER_DIR);
  console.log(`tokenizer: load ${(performance.now() - loadStart).toFixed(1)} ms`);
  for (const syntax of ['plain', 'a1111'] as const) {
    const prompt = benchPrompt(syntax);
    const tokenize = (): unknown => tokenizePromptPair(tokenizer, prompt, '', syntax);
    const cold = time(tokenize);
    for (let i = 0; i < WARM_UP_RUNS; i += 1) tokenize();
    const warm = median(Array.from({ length: TIMED_RUNS }, () => time(tokenize)));
    console.log(
      `tokenizer: ${WORDS}-word prompt, ${syntax}: ${warm.toFixed(3)} ms ` +
        `(median of ${TIMED_RUNS}; first call with an empty cache ${cold.toFixed(3)} ms)`,
    );
  }
}
