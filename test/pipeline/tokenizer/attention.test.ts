import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parsePromptAttention, type AttentionPart } from '../../../src/pipeline/tokenizer/attention.js';

const text = (value: string, weight: number): AttentionPart => ({ kind: 'text', text: value, weight });
const BREAK: AttentionPart = { kind: 'break' };

// Expected values from A1111's own doctests (modules/prompt_parser.py), floats included.
test('A1111 doctest: plain text and one emphasis', () => {
  assert.deepEqual(parsePromptAttention('normal text').parts, [text('normal text', 1)]);
  assert.deepEqual(parsePromptAttention('an (important) word').parts, [
    text('an ', 1),
    text('important', 1.1),
    text(' word', 1),
  ]);
});

test('A1111 doctest: unbalanced, escaped and adjacent equal-weight groups', () => {
  assert.deepEqual(parsePromptAttention('(unbalanced').parts, [text('unbalanced', 1.1)]);
  assert.deepEqual(parsePromptAttention('\\(literal\\]').parts, [text('(literal]', 1)]);
  assert.deepEqual(parsePromptAttention('(unnecessary)(parens)').parts, [text('unnecessaryparens', 1.1)]);
});

test('A1111 doctest: nesting, explicit weights and square brackets', () => {
  assert.deepEqual(parsePromptAttention('a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).').parts, [
    text('a ', 1),
    text('house', 1.5730000000000004),
    text(' ', 1.1),
    text('on', 1),
    text(' a ', 1.1),
    text('hill', 0.55),
    text(', sun, ', 1.1),
    text('sky', 1.4641000000000006),
    text('.', 1.1),
  ]);
});

test('square brackets multiply by 1/1.1; ((x)) is 1.1·1.1', () => {
  assert.deepEqual(parsePromptAttention('[x] ((y))').parts, [text('x', 1 / 1.1), text(' ', 1), text('y', 1.1 * 1.1)]);
});

test('spaces are allowed around an explicit weight, and it may be negative', () => {
  assert.deepEqual(parsePromptAttention('(x: 1.3 ) (y:-0.5)').parts, [text('x', 1.3), text(' ', 1), text('y', -0.5)]);
});

test('a closing bracket or weight with nothing open is literal text', () => {
  assert.deepEqual(parsePromptAttention('a) b] c:1.2)').parts, [text('a) b] c:1.2)', 1)]);
});

test('escaped backslash is one backslash; a lone backslash vanishes', () => {
  assert.deepEqual(parsePromptAttention('a\\\\b \\c').parts, [text('a\\b c', 1)]);
});

test('an invalid number closes its bracket without effect and says so', () => {
  const parsed = parsePromptAttention('(x:1.2.3) y');
  assert.deepEqual(parsed.parts, [text('x y', 1)]);
  assert.deepEqual(parsed.notices, ['Ignored the weight ":1.2.3", which is not a number.']);
});

test('BREAK (upper case, a separate word) splits; other spellings are text', () => {
  assert.deepEqual(parsePromptAttention('a BREAK b').parts, [text('a', 1), BREAK, text('b', 1)]);
  assert.deepEqual(parsePromptAttention('a break b aBREAK BREAKs').parts, [text('a break b aBREAK BREAKs', 1)]);
  assert.deepEqual(parsePromptAttention('a BREAK BREAK b').parts, [
    text('a', 1),
    BREAK,
    text('', 1),
    BREAK,
    text('b', 1),
  ]);
});

test('BREAK inside brackets still splits and keeps no weight (A1111 would encode the word "break")', () => {
  assert.deepEqual(parsePromptAttention('(a BREAK b)').parts, [text('a', 1.1), BREAK, text('b', 1.1)]);
});
