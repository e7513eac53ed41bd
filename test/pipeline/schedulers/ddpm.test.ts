import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGenerator } from '../../../src/pipeline/rng/index.js';
import { DDPMScheduler } from '../../../src/pipeline/schedulers/ddpm.js';
import { schedulerCases, testReferenceCases } from './reference-loop.js';

describe('DDPMScheduler', () => {
  it('has reference cases', () => assert.ok(schedulerCases('ddpm').length > 0));
  testReferenceCases('ddpm', (c) => new DDPMScheduler(c.config, c.name), {
    noise: true,
    title: (c) => `matches diffusers, noise included: ${c.steps} steps, seed ${c.seed}`,
  });

  it('adds no noise at timestep 0', () => {
    const scheduler = new DDPMScheduler({ timestep_spacing: 'linspace' }, 'ddpm');
    scheduler.setTimesteps(1);
    assert.deepEqual(Array.from(scheduler.timesteps), [0]);
    const refuse = { randn: () => assert.fail('no noise expected') };
    scheduler.step(Float32Array.of(0.5), 0, Float32Array.of(0.1), refuse);
  });

  it('rejects timesteps it did not set and learned variances', () => {
    const scheduler = new DDPMScheduler({}, 'ddpm');
    scheduler.setTimesteps(10);
    const generator = createGenerator(0, 'cpu');
    assert.throws(
      () => scheduler.step(new Float32Array(1), 505, new Float32Array(1), generator),
      /one of the timesteps set by setTimesteps, got 505/,
    );
    assert.throws(() => new DDPMScheduler({ variance_type: 'learned_range' }, 'ddpm'), /`variance_type` of DDPMScheduler/);
  });
});
