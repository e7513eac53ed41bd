import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  ClipTokenizer,
  tokenizePromptPair,
  type PromptTokens,
} from '../../../src/pipeline/tokenizer/index.js';
import { TOKENIZER_DIR, tinyTokenizer, window, windowWeights, wordId } from './fixtures.js';

const A = wordId('a');
const RED = wordId('red');
const CAT = wordId('cat');
const SITS = wordId('sits');
const ON = wordId('on');
const THE = wordId('the');
const BLUE = wordId('blue');
const HILL = wordId('hill');
const TODAY = wordId('today');
const DOG = wordId('dog');
const SUN = wordId('sun');
const SKY = wordId('sky');
const COMMA = wordId(',');

/** Plain arrays, for readable deep comparison. */
function plain(tokens: PromptTokens): { chunks: number[][]; weights: number[][] } {
  return { chunks: tokens.chunks.map((c) => Array.from(c)), weights: tokens.weights.map((w) => Array.from(w)) };
}

const repeat = (id: number, count: number): number[] => Array<number>(count).fill(id);

describe('tokenizePromptPair, a1111', () => {
  let tokenizer: ClipTokenizer;
  before(async () => {
    tokenizer = await tinyTokenizer();
  });
  const a1111 = (prompt: string, negative = ''): ReturnType<typeof tokenizePromptPair> =>
    tokenizePromptPair(tokenizer, prompt, negative, 'a1111');

  test('nested weights: ((x)) 1.1², [[x]] (1/1.1)², ((x:1.5)) 1.5·1.1, unclosed ( ×1.1', () => {
    const { prompt, warnings } = a1111('a ((cat)) [[dog]] ((sun:1.5)) (sky');
    assert.deepEqual(plain(prompt), {
      chunks: [window([A, CAT, DOG, SUN, SKY])],
      weights: [windowWeights([1, 1.1 * 1.1, (1 / 1.1) * (1 / 1.1), 1.5 * 1.1, 1.1])],
    });
    assert.deepEqual(warnings, []);
  });

  test('each weighted run is tokenized on its own: red(cat) is two words', () => {
    assert.deepEqual(plain(a1111('red(cat)').prompt).chunks, [window([RED, CAT])]);
  });

  test('escaped brackets and backslash are literal text with weight 1', () => {
    const { prompt } = a1111('\\(cat\\) \\[dog\\] \\\\ sun');
    assert.deepEqual(plain(prompt), {
      chunks: [window([wordId('('), CAT, wordId(')'), wordId('['), DOG, wordId(']'), wordId('\\'), SUN])],
      weights: [windowWeights(repeat(1, 8))],
    });
  });

  test('unbalanced: open brackets close at the end (round first), stray closers are text', () => {
    const { prompt } = a1111('a (cat [dog');
    assert.deepEqual(plain(prompt).weights, [windowWeights([1, 1.1, 1.1 * (1 / 1.1)])]);
    const stray = a1111('cat) dog]').prompt;
    assert.deepEqual(plain(stray), {
      chunks: [window([CAT, wordId(')'), DOG, wordId(']')])],
      weights: [windowWeights([1, 1, 1, 1])],
    });
  });

  test('BREAK starts a new chunk; the negative prompt is padded with empty-prompt chunks', () => {
    const { prompt, negative } = a1111('a cat BREAK (dog)', 'sky');
    assert.deepEqual(plain(prompt), {
      chunks: [window([A, CAT]), window([DOG])],
      weights: [windowWeights([1, 1]), windowWeights([1.1])],
    });
    assert.deepEqual(plain(negative), {
      chunks: [window([SKY]), window([])],
      weights: [windowWeights([1]), windowWeights([])],
    });
  });

  test('the shorter prompt is padded whichever side it is on', () => {
    const { prompt, negative } = a1111('', 'cat BREAK dog BREAK sun');
    assert.deepEqual(plain(prompt).chunks, [window([]), window([]), window([])]);
    assert.deepEqual(plain(negative).chunks, [window([CAT]), window([DOG]), window([SUN])]);
  });

  test('a ~300-token prompt of 10-token phrases fills 5 chunks of whole phrases (comma backtrack)', () => {
    // 30 phrases of 9 words and a comma = 300 tokens. A chunk reaches 75 tokens in the middle of its 8th
    // phrase with a comma 6 tokens back, so each chunk keeps 7 phrases (70 tokens): 7+7+7+7+2 phrases.
    const phrase = 'a red cat sits on the blue hill today,';
    const phraseIds = [A, RED, CAT, SITS, ON, THE, BLUE, HILL, TODAY, COMMA];
    const { prompt } = a1111(Array<string>(30).fill(phrase).join(' '));
    const sevenPhrases = Array<number[]>(7).fill(phraseIds).flat();
    assert.deepEqual(plain(prompt), {
      chunks: [...Array<number[]>(4).fill(window(sevenPhrases)), window([...phraseIds, ...phraseIds])],
      weights: [...Array<number[]>(4).fill(windowWeights(repeat(1, 70))), windowWeights(repeat(1, 20))],
    });
  });

  test('comma backtrack: a comma 20 tokens before the end moves the rest, with its weights', () => {
    // 55 cats, a comma (index 55), 19 dogs fill the chunk; "sun" does not fit, and 75 − 55 = 20 ≤ 20.
    const { prompt } = a1111(`${'cat '.repeat(55)}, (${'dog '.repeat(19)}) sun`);
    assert.deepEqual(plain(prompt), {
      chunks: [window([...repeat(CAT, 55), COMMA]), window([...repeat(DOG, 19), SUN])],
      weights: [windowWeights(repeat(1, 56)), windowWeights([...repeat(1.1, 19), 1])],
    });
  });

  test('comma backtrack: a comma 21 tokens before the end moves nothing', () => {
    const { prompt } = a1111(`${'cat '.repeat(54)}, ${'dog '.repeat(20)} sun`);
    assert.deepEqual(plain(prompt).chunks, [window([...repeat(CAT, 54), COMMA, ...repeat(DOG, 20)]), window([SUN])]);
  });

  test('a <lora:…> tag is removed with a warning, never encoded', () => {
    const { prompt, negative, warnings } = a1111('a cat <lora:add_detail:0.8>', '<lora:bad_hands:1>');
    assert.deepEqual(plain(prompt).chunks, [window([A, CAT])]);
    assert.deepEqual(plain(negative).chunks, [window([])]);
    assert.deepEqual(warnings, [
      'Prompt: Removed <lora:add_detail:0.8>: LoRA, hypernetworks and other extra networks are not supported.',
      'Negative prompt: Removed <lora:bad_hands:1>: LoRA, hypernetworks and other extra networks are not supported.',
    ]);
  });

  test('prompt editing, alternation and AND are removed with warnings', () => {
    const { prompt, warnings } = a1111('a [cat:dog:0.5] AND [sun|sky] hill');
    assert.deepEqual(plain(prompt).chunks, [window([A, HILL])]);
    assert.deepEqual(warnings, [
      'Prompt: Joined the parts around AND into one prompt: composable diffusion (AND) is not supported.',
      'Prompt: Removed [cat:dog:0.5]: prompt editing ([from:to:when]) is not supported.',
      'Prompt: Removed [sun|sky]: alternating words ([a|b]) are not supported.',
    ]);
  });
});

describe('tokenizePromptPair, plain', () => {
  test('warns how many tokens were dropped and what text', async () => {
    const tokenizer = await tinyTokenizer();
    const long = `${'cat '.repeat(75)}red dog`;
    const { prompt, negative, warnings } = tokenizePromptPair(tokenizer, long, '(sky)', 'plain');
    assert.deepEqual(plain(prompt), { chunks: [window(repeat(CAT, 75))], weights: [windowWeights(repeat(1, 75))] });
    assert.deepEqual(plain(negative).chunks, [window([wordId('('), SKY, wordId(')')])]);
    assert.deepEqual(warnings, ['Prompt: 77 tokens, but CLIP reads only 75: the last 2 were dropped ("red dog").']);
  });
});

describe('SD 2.x tokenizer (pad_token "!")', () => {
  let dir: string;
  let sd2: ClipTokenizer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dreamcord-sd2-'));
    await cp(TOKENIZER_DIR, dir, { recursive: true });
    const special = {
      bos_token: '<|startoftext|>',
      eos_token: '<|endoftext|>',
      pad_token: '!',
      unk_token: '<|endoftext|>',
    };
    await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify(special));
    sd2 = await ClipTokenizer.load(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a1111 pads with 0 after EOS, empty chunks too; a typed "!" stays the word "!"', () => {
    const { prompt, negative } = tokenizePromptPair(sd2, 'a cat! BREAK dog', '', 'a1111');
    assert.deepEqual(plain(prompt).chunks, [window([A, CAT, wordId('!')], 0), window([DOG], 0)]);
    assert.deepEqual(plain(negative).chunks, [window([], 0), window([], 0)]);
  });

  test('plain pads with 0 and, like diffusers, reads a typed "!" as the pad token', () => {
    const { prompt } = tokenizePromptPair(sd2, 'a cat!', '', 'plain');
    assert.deepEqual(plain(prompt).chunks, [window([A, CAT, 0], 0)]);
  });
});
