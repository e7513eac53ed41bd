import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ClipTokenizer, tokenizePromptPair } from '../../../src/pipeline/tokenizer/index.js';
import { EOS, TOKENIZER_DIR, TOKENIZER_REFERENCES, tinyTokenizer, wordId } from './fixtures.js';

/** A temporary copy of the tiny-sd tokenizer folder, with `edit` applied. */
async function tokenizerCopy(edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dreamcord-tokenizer-'));
  await cp(TOKENIZER_DIR, dir, { recursive: true });
  await edit(dir);
  return dir;
}

const tempDirs: string[] = [];
after(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('ClipTokenizer matches CLIPTokenizerFast (diffusers reference ids)', async () => {
  const tokenizer = await tinyTokenizer();
  for (const reference of TOKENIZER_REFERENCES) {
    test(`${JSON.stringify(reference.prompt).slice(0, 50)}`, () => {
      assert.deepEqual(tokenizer.encode(reference.prompt), reference.untruncated.slice(1, -1), 'untruncated ids');
      const { prompt, warnings } = tokenizePromptPair(tokenizer, reference.prompt, '', 'plain');
      assert.deepEqual(Array.from(prompt.chunks[0] ?? []), reference.fast, 'truncated, padded window');
      assert.equal(warnings.length, reference.untruncated.length > 77 ? 1 : 0);
    });
  }
});

describe('ClipTokenizer', () => {
  let tokenizer: ClipTokenizer;
  before(async () => {
    tokenizer = await tinyTokenizer();
  });

  test('reads the special ids of SD 1.x', () => {
    assert.deepEqual([tokenizer.bosId, tokenizer.eosId, tokenizer.padId], [49406, 49407, 49407]);
    assert.equal(tokenizer.tokenId(',</w>'), 267);
  });

  test('a typed <|endoftext|> is the EOS id, split off its neighbours', () => {
    assert.deepEqual(tokenizer.encode('cat!<|endoftext|>dog'), [wordId('cat'), wordId('!'), EOS, wordId('dog')]);
  });

  test('U+0085 (NEL) is whitespace, as in the fast tokenizer (JavaScript \\s does not include it)', () => {
    assert.deepEqual(tokenizer.encode('cat\u0085dog'), [wordId('cat'), wordId('dog')]);
  });

  test('lower-cases character by character: a final capital sigma becomes σ', () => {
    assert.deepEqual(tokenizer.encode('ΟΔΟΣ'), tokenizer.encode('οδοσ'));
  });

  test('decode turns ids back into the normalized text', () => {
    const sunset = TOKENIZER_REFERENCES.find((reference) => reference.prompt.startsWith('sunset'));
    assert.ok(sunset);
    assert.equal(tokenizer.decode(sunset.untruncated.slice(1, -1)), 'sunset 🌅 over the sea');
    const cafe = TOKENIZER_REFERENCES.find((reference) => reference.prompt.startsWith('caf'));
    assert.ok(cafe);
    assert.equal(tokenizer.decode(cafe.untruncated.slice(1, -1)), 'café crème brûlée');
  });
});

describe('ClipTokenizer.load', () => {
  test('an SD 2.x pad token "!" ({"content": …} form) pads with 0 and, typed, becomes 0 like diffusers', async () => {
    const dir = await tokenizerCopy(async (copy) => {
      const path = join(copy, 'special_tokens_map.json');
      const map = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      await writeFile(path, JSON.stringify({ ...map, pad_token: { content: '!', lstrip: false } }));
    });
    tempDirs.push(dir);
    const sd2 = await ClipTokenizer.load(dir);
    assert.equal(sd2.padId, 0);
    assert.deepEqual(sd2.encode('cat!'), [wordId('cat'), 0]);
    assert.deepEqual(sd2.encode('cat!', 'boundaries'), [wordId('cat'), wordId('!')]);
  });

  test('reads a folder that has only tokenizer.json (merges as strings or as pairs)', async () => {
    const vocab = JSON.parse(await readFile(join(TOKENIZER_DIR, 'vocab.json'), 'utf8')) as Record<string, number>;
    const rules = (await readFile(join(TOKENIZER_DIR, 'merges.txt'), 'utf8')).split('\n').slice(1).filter(Boolean);
    for (const merges of [rules, rules.map((rule) => rule.split(' '))]) {
      const dir = await mkdtemp(join(tmpdir(), 'dreamcord-tokenizer-json-'));
      tempDirs.push(dir);
      const added = [
        { id: 49406, content: '<|startoftext|>', special: true },
        { id: 49407, content: '<|endoftext|>', special: true },
      ];
      const model = { type: 'BPE', vocab, merges, end_of_word_suffix: '</w>', continuing_subword_prefix: '' };
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ added_tokens: added, model }));
      const fromJson = await ClipTokenizer.load(dir);
      for (const reference of TOKENIZER_REFERENCES) {
        assert.deepEqual(fromJson.encode(reference.prompt), reference.untruncated.slice(1, -1), reference.prompt);
      }
    }
  });

  test('names the folder when it holds no tokenizer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dreamcord-tokenizer-empty-'));
    tempDirs.push(dir);
    await assert.rejects(ClipTokenizer.load(dir), {
      message: `${dir} holds no CLIP tokenizer: expected vocab.json and merges.txt, or tokenizer.json`,
    });
  });

  test('names the line of a malformed merge rule', async () => {
    const dir = await tokenizerCopy((copy) =>
      writeFile(join(copy, 'merges.txt'), '#version: 0.2\ni n\nthree part rule\n'),
    );
    tempDirs.push(dir);
    await assert.rejects(ClipTokenizer.load(dir), {
      message: `${join(dir, 'merges.txt')} line 3: expected "first second", got "three part rule"`,
    });
  });

  test('rejects a pad token missing from the vocabulary', async () => {
    const dir = await tokenizerCopy((copy) =>
      writeFile(join(copy, 'special_tokens_map.json'), JSON.stringify({ pad_token: '<pad>' })),
    );
    tempDirs.push(dir);
    await assert.rejects(ClipTokenizer.load(dir), {
      message: `${dir}: the pad token "<pad>" is not in the vocabulary`,
    });
  });
});
