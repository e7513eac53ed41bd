// A1111's prompt editing, alternation and AND (modules/prompt_parser.py, v1.10.1): the schedules its grammar gives
// (the oracle's `t2i_prompt_edit` is checked in parity.test.ts; these are the rules of its grammar and of
// `get_learned_conditioning_prompt_schedules`, worked out by hand from that code).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promptSchedule, subPrompts } from '../../../src/pipeline/a1111/prompt-schedule.js';
import { StableDiffusionPipeline, type GenerateRequest } from '../../../src/pipeline/index.js';
import { maxAbsDifference } from '../harness.js';

const texts = (prompt: string, steps: number) => promptSchedule(prompt, steps).map(({ endAt, text }) => [endAt, text]);

describe('A1111 prompt schedules', () => {
  it('switches [from:to:when] after a fraction of the calls, or after a whole number of them', () => {
    assert.deepEqual(texts('[a red cat:a blue dog:0.5] in a garden', 8), [[4, 'a red cat in a garden'], [8, 'a blue dog in a garden']]);
    assert.deepEqual(texts('[a:b:3]', 8), [[3, 'a'], [8, 'b']]);
    assert.deepEqual(texts('[a:b: 0.25 ]', 16), [[4, 'a'], [16, 'b']]);
  });

  it("in a hires fix's second pass counts on from the first pass (A1111's doctest with hires_steps)", () => {
    const hires = (prompt: string, steps: number, firstPass: number) => promptSchedule(prompt, steps, firstPass).map(({ endAt, text }) => [endAt, text]);
    assert.deepEqual(hires('a [b:.5] c', 10, 10), [[10, 'a b c']]);
    assert.deepEqual(hires('a [b:1.5] c', 10, 10), [[5, 'a  c'], [10, 'a b c']]);
    // A whole number counts the first pass's calls: 12 of a 10-call first pass is call 2 of the second.
    assert.deepEqual(hires('[x:y:12]', 6, 10), [[2, 'x'], [6, 'y']]);
    assert.deepEqual(hires('[x:y:4]', 6, 10), [[6, 'y']]);
  });

  it('adds with [to:when] and removes with [from::when]', () => {
    assert.deepEqual(texts('[fox:3] run', 8), [[3, ' run'], [8, 'fox run']]);
    assert.deepEqual(texts('[fox::2] run', 8), [[2, 'fox run'], [8, ' run']]);
  });

  it('never switches at call 0, and a when beyond the steps holds the first text throughout', () => {
    assert.deepEqual(texts('[a:b:0.01]', 8), [[8, 'b']]);
    assert.deepEqual(texts('[a:b:20]', 8), [[8, 'a']]);
  });

  it('alternates [a|b|c] every call, nested in a schedule too', () => {
    assert.deepEqual(texts('[cat|dog]', 4), [[1, 'cat'], [2, 'dog'], [3, 'cat'], [4, 'dog']]);
    assert.deepEqual(texts('[a||c]', 3), [[1, 'a'], [2, ''], [3, 'c']]);
    assert.deepEqual(texts('x [a:[b|c]:0.5] y', 4), [[1, 'x a y'], [2, 'x a y'], [3, 'x b y'], [4, 'x c y']]);
  });

  it('keeps emphasis, escapes and text the grammar rejects as they are', () => {
    assert.deepEqual(texts('a (b:1.2) [c] ((d)) [e:f]', 8), [[8, 'a (b:1.2) [c] ((d)) [e:f]']]);
    assert.deepEqual(texts('\\[a:b:0.5\\]', 8), [[8, '\\[a:b:0.5\\]']]);
    assert.deepEqual(texts('a | b [c:d:0.5]', 8), [[8, 'a | b [c:d:0.5]']]);
    assert.deepEqual(texts('unclosed [a:b:0.5', 8), [[8, 'unclosed [a:b:0.5']]);
  });

  it('splits AND sub-prompts with their trailing weights', () => {
    assert.deepEqual(subPrompts('a cat :1.2 AND a dog AND bird:0.5 ANDROID'), [
      { text: 'a cat', weight: 1.2 },
      { text: ' a dog', weight: 1 },
      { text: ' bird:0.5 ANDROID', weight: 1 },
    ]);
  });
});

describe('AND in A1111 mode', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());

  const picture = async (request: Partial<GenerateRequest>): Promise<Float32Array> =>
    (await pipeline.generate({ prompt: '', compat: 'a1111', seed: 3, steps: 4, width: 64, height: 64, sampler: 'Euler', ...request })).images[0]
      ?.image.data ?? new Float32Array();

  it('adds each sub-prompt at its weight: one of weight 0 changes nothing', async () => {
    const alone = await picture({ prompt: 'a red fox' });
    const withZero = await picture({ prompt: 'a red fox AND a snowy forest :0' });
    assert.ok(maxAbsDifference(alone, withZero) < 1e-5, `${maxAbsDifference(alone, withZero)}`);
    const weighted = await picture({ prompt: 'a red fox AND a snowy forest :0.5' });
    assert.ok(maxAbsDifference(alone, weighted) > 1e-3);
  });

  it('pads a shorter sub-prompt with its last vector to the longest one\'s chunks, as A1111 does', async () => {
    const long = Array.from({ length: 30 }, () => 'snowy forest').join(', ');
    const padded = await picture({ prompt: `a red fox AND ${long} :0` });
    const alone = await picture({ prompt: 'a red fox' });
    // Weight 0 drops the long sub-prompt's guidance, but the fox's 77 tokens now attend over 154.
    const difference = maxAbsDifference(alone, padded);
    assert.ok(difference > 1e-4 && Number.isFinite(difference), `${difference}`);
  });
});
