// A1111's prompt regular expressions are Python's: test/fixtures/a1111-prompts/attention.json holds what A1111's
// own parse_prompt_attention and AND split (copied unchanged, run by Python's `re` in make_attention.py) make of
// prompts where Python's `\d`, `\s`, `\b` and float() differ from JavaScript's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { subPrompts } from '../../../src/pipeline/a1111/prompt-schedule.js';
import { parsePromptAttention } from '../../../src/pipeline/tokenizer/attention.js';
import { pythonFloat } from '../../../src/pipeline/tokenizer/python-regex.js';

interface PromptCase {
  readonly prompt: string;
  /** A1111's `[text, weight]` runs; `["BREAK", -1]` marks a BREAK. */
  readonly attention: readonly (readonly [string, number])[];
  readonly and: readonly (readonly [string, number])[];
}

const { cases } = JSON.parse(readFileSync('test/fixtures/a1111-prompts/attention.json', 'utf8')) as { cases: PromptCase[] };

/** Runs as comparable `[text, weight]` pairs, BREAK as A1111 marks it, empty runs left out (they encode nothing). */
function dreamcordRuns(prompt: string): [string, number][] {
  return parsePromptAttention(prompt)
    .parts.map((part): [string, number] => (part.kind === 'break' ? ['BREAK', -1] : [part.text, part.weight]))
    .filter(([text]) => text !== '');
}

describe('A1111 prompt parsing with Python\'s regular expressions', () => {
  for (const c of cases) {
    it(`${JSON.stringify(c.prompt)}: attention runs and AND sub-prompts as A1111's`, () => {
      assert.deepEqual(
        dreamcordRuns(c.prompt),
        c.attention.filter(([text]) => text !== '').map(([text, weight]) => [text, weight]),
      );
      assert.deepEqual(
        subPrompts(c.prompt).map(({ text, weight }) => [text, weight]),
        c.and.map(([text, weight]) => [text, weight]),
      );
    });
  }

  it('reads numbers as Python\'s float() does, Unicode digits included, and refuses what it refuses', () => {
    assert.equal(pythonFloat('\uff11.\uff15'), 1.5);
    assert.equal(pythonFloat('\u0662'), 2);
    assert.equal(pythonFloat('\u{1D7D0}.\u{1D7D5}'), 2.7);
    assert.equal(pythonFloat('.5'), 0.5);
    assert.ok(Number.isNaN(pythonFloat('1.2.3')));
    assert.ok(Number.isNaN(pythonFloat('.')));
  });
});
