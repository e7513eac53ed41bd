import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KDPM2AncestralDiscreteScheduler } from '../../../src/pipeline/schedulers/kdpm2-ancestral.js';
import { testReferenceCases } from './reference-loop.js';

testReferenceCases('dpm2_a', (c) => new KDPM2AncestralDiscreteScheduler(c.config, 'dpm2_a'), { noise: true });

test('dpm2_a: noise is drawn once per step, at the corrector', () => {
  const scheduler = new KDPM2AncestralDiscreteScheduler({}, 'dpm2_a');
  scheduler.setTimesteps(3);
  let draws = 0;
  const generator = { randn: (shape: readonly number[]) => (draws++, new Float32Array(shape[0] ?? 0)) };
  const sample = new Float32Array([1, -1]);
  for (const t of scheduler.timesteps) scheduler.step(new Float32Array([0.1, 0.2]), t, sample, generator);
  assert.equal(draws, 2);
  assert.ok(sample.every(Number.isFinite));
});
