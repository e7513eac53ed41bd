import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGenerator } from '../../../src/pipeline/rng/index.js';
import { EulerAncestralDiscreteScheduler } from '../../../src/pipeline/schedulers/euler-ancestral.js';
import { ancestralSplit } from '../../../src/pipeline/schedulers/sigmas.js';
import { checkSchedulerCase, schedulerCases } from './reference-loop.js';

for (const c of schedulerCases('euler_a')) {
  test(`euler_a: ${c.steps} steps, seed ${c.seed} match diffusers`, (t) => {
    const scheduler = new EulerAncestralDiscreteScheduler(c.config, 'euler_a');
    const error = checkSchedulerCase(c, scheduler, createGenerator(c.seed, 'cpu'));
    t.diagnostic(`final latents relative error ${error.toExponential(2)}`);
  });
}

test('euler_a: the ancestral split keeps the target level (σ_down² + σ_up² = σ_to²)', () => {
  const { up, down } = ancestralSplit(4, 1.5);
  assert.ok(Math.abs(up * up + down * down - 1.5 * 1.5) < 1e-5);
  assert.deepEqual(ancestralSplit(0.5, 0), { up: 0, down: 0 });
});

test('euler_a: sample prediction is refused like diffusers (not implemented there)', () => {
  assert.throws(
    () => new EulerAncestralDiscreteScheduler({ prediction_type: 'sample' }, 'euler_a'),
    /Expected `prediction_type` of EulerAncestralDiscreteScheduler to be one of "epsilon", "v_prediction", got "sample" \(string\)/,
  );
});
