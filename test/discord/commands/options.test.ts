// Issue 14: what Discord lets a member type is what the pipeline's request contract takes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_IMAGES_PER_JOB } from '../../../src/config/index.js';
import { COMMANDS } from '../../../src/discord/commands/index.js';
import { REQUEST_LIMITS } from '../../../src/pipeline/index.js';

/** The bounds of option `name` of command `command`, as registered with Discord. */
function bounds(command: string, name: string): [number | undefined, number | undefined] {
  const data = COMMANDS.find((c) => c.data.name === command)?.data;
  const option = data?.options?.find((o) => o.name === name) as { min_value?: number; max_value?: number } | undefined;
  assert.ok(option, `/${command} ${name}`);
  return [option.min_value, option.max_value];
}

describe('generation options', () => {
  const { steps, cfg, size } = REQUEST_LIMITS;
  for (const command of ['imagine', 'variation', 'inpaint']) {
    it(`/${command}: steps and cfg within the request contract`, () => {
      assert.deepEqual(bounds(command, 'steps'), [steps.min, steps.max]);
      assert.deepEqual(bounds(command, 'cfg'), [cfg.min, cfg.max]);
    });
  }

  it('/imagine: width, height and count within the contract and the product limit', () => {
    assert.deepEqual(bounds('imagine', 'width'), [size.min, size.max]);
    assert.deepEqual(bounds('imagine', 'height'), [size.min, size.max]);
    assert.deepEqual(bounds('imagine', 'count'), [1, MAX_IMAGES_PER_JOB]);
  });

  it('/imagine: clip_skip within the contract', () => {
    assert.deepEqual(bounds('imagine', 'clip_skip'), [REQUEST_LIMITS.clipSkip.min, REQUEST_LIMITS.clipSkip.max]);
  });
});
