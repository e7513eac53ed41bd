import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeunDiscreteScheduler } from '../../../src/pipeline/schedulers/heun.js';
import { testReferenceCases } from './reference-loop.js';

testReferenceCases('heun', (c) => new HeunDiscreteScheduler(c.config, 'heun'));

test('heun: clip_sample bounds the denoised estimate', () => {
  const clipped = new HeunDiscreteScheduler({ clip_sample: true, clip_sample_range: 0.5 }, 'heun');
  const free = new HeunDiscreteScheduler({}, 'heun');
  for (const scheduler of [clipped, free]) scheduler.setTimesteps(2);
  const t = clipped.timesteps[0] ?? NaN;
  const sigma = clipped.sigmas[0] ?? NaN;
  const next = clipped.sigmas[1] ?? NaN;
  // ε = 0 and x = 3: the estimate x₀ = 3 is clipped to 0.5, so the predictor moves towards 0.5.
  const sample = new Float32Array([3]);
  clipped.step(new Float32Array([0]), t, sample, { randn: () => new Float32Array(0) });
  const derivative = Math.fround(Math.fround(3 - 0.5) / sigma);
  assert.equal(sample[0], Math.fround(3 + Math.fround(derivative * Math.fround(next - sigma))));
});
