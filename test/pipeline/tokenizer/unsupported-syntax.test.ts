import assert from 'node:assert/strict';
import { test } from 'node:test';

import { removeUnsupportedSyntax } from '../../../src/pipeline/tokenizer/unsupported-syntax.js';

test('text without unsupported syntax passes unchanged, emphasis included', () => {
  assert.deepEqual(removeUnsupportedSyntax('a (cat:1.2), [dog], ((sun)) BREAK sky'), {
    text: 'a (cat:1.2), [dog], ((sun)) BREAK sky',
    notices: [],
  });
});

test('extra-network tags are removed, all named in one notice', () => {
  assert.deepEqual(removeUnsupportedSyntax('a cat <lora:add_detail:0.8>, <hypernet:anime:1> dog'), {
    text: 'a cat ,  dog',
    notices: [
      'Removed <lora:add_detail:0.8>, <hypernet:anime:1>: ' +
        'LoRA, hypernetworks and other extra networks are not supported.',
    ],
  });
});

test('AND joins the sub-prompts; their trailing weights are removed', () => {
  assert.deepEqual(removeUnsupportedSyntax('a cat :1.2 AND a dog:0.5'), {
    text: 'a cat  a dog',
    notices: [
      'Joined the parts around AND into one prompt: composable diffusion (AND) is not supported.',
      'Removed the trailing weight ":1.2", ":0.5": A1111 reads a prompt that ends in ":number" as a ' +
        'composable-diffusion weight, which is not supported.',
    ],
  });
});

test('"and", "ANDROID" and a weight inside brackets are not composable syntax', () => {
  assert.deepEqual(removeUnsupportedSyntax('cat and ANDROID (dog:1.3)'), {
    text: 'cat and ANDROID (dog:1.3)',
    notices: [],
  });
});

test('prompt editing in all three forms is removed whole', () => {
  const cleaned = removeUnsupportedSyntax('a [cat:dog:0.5] b [ hat:10] c [tie::0.25] d');
  assert.equal(cleaned.text, 'a  b  c  d');
  assert.deepEqual(cleaned.notices, [
    'Removed [cat:dog:0.5]: prompt editing ([from:to:when]) is not supported.',
    'Removed [ hat:10]: prompt editing ([from:to:when]) is not supported.',
    'Removed [tie::0.25]: prompt editing ([from:to:when]) is not supported.',
  ]);
});

test('alternation is removed whole, nested edits with their outer group', () => {
  const cleaned = removeUnsupportedSyntax('x [cat|dog] y a[b:[c:d:2]:1]e [(z:1.2):3]');
  assert.equal(cleaned.text, 'x  y ae ');
  assert.deepEqual(cleaned.notices, [
    'Removed [cat|dog]: alternating words ([a|b]) are not supported.',
    'Removed [b:[c:d:2]:1]: prompt editing ([from:to:when]) is not supported.',
    'Removed [(z:1.2):3]: prompt editing ([from:to:when]) is not supported.',
  ]);
});

test('emphasis groups, escapes and unclosed brackets stay; edits inside emphasis are found', () => {
  assert.deepEqual(removeUnsupportedSyntax('[[x]] \\[a:b:1\\] [c:d] [open:1 x'), {
    text: '[[x]] \\[a:b:1\\] [c:d] [open:1 x',
    notices: [],
  });
  assert.deepEqual(removeUnsupportedSyntax('[big [cat:dog:2]]').text, '[big ]');
});

test('a prompt ending in ":number" loses it even without AND, as A1111 reads it as a weight', () => {
  assert.deepEqual(removeUnsupportedSyntax('wide shot 16:9').text, 'wide shot 16');
});
