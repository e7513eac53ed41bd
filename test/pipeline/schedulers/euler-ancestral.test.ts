import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EulerAncestralDiscreteScheduler } from '../../../src/pipeline/schedulers/euler-ancestral.js';
import { ancestralSplit } from '../../../src/pipeline/schedulers/sigmas.js';
import { testReferenceCases } from './reference-loop.js';

testReferenceCases('euler_a', (c) => new EulerAncestralDiscreteScheduler(c.config, 'euler_a'), { noise: true });

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
