import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LCMScheduler } from '../../../src/pipeline/schedulers/lcm.js';
import { schedulerCases, testReferenceCases } from './reference-loop.js';

describe('LCMScheduler', () => {
  it('has reference cases', () => assert.ok(schedulerCases('lcm').length > 0));
  testReferenceCases('lcm', (c) => new LCMScheduler(c.config, c.name), {
    noise: true,
    title: (c) => `matches diffusers, noise included: ${c.steps} steps, seed ${c.seed}`,
  });

  // Expected values from numpy with diffusers' expressions (original_inference_steps 50).
  it('picks evenly spaced timesteps of the distillation schedule', () => {
    const scheduler = new LCMScheduler({}, 'lcm');
    scheduler.setTimesteps(3);
    assert.deepEqual(Array.from(scheduler.timesteps), [999, 679, 339]);
    scheduler.setTimesteps(7);
    assert.deepEqual(Array.from(scheduler.timesteps), [999, 859, 719, 579, 439, 299, 159]);
  });

  it('draws no noise after the last step', () => {
    const scheduler = new LCMScheduler({}, 'lcm');
    scheduler.setTimesteps(2);
    scheduler.setBeginIndex(1);
    const refuse = { randn: () => assert.fail('no noise expected') };
    scheduler.step(Float32Array.of(0.5), scheduler.timesteps[1] ?? NaN, Float32Array.of(0.1), refuse);
  });

  it('rejects more steps than the distillation schedule has', () => {
    assert.throws(() => new LCMScheduler({}, 'lcm').setTimesteps(51), /integer in 1–50 \(`original_inference_steps`\), got 51/);
  });
});
