import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PNDMScheduler } from '../../../src/pipeline/schedulers/pndm.js';
import { schedulerCases, testReferenceCases } from './reference-loop.js';

describe('PNDMScheduler', () => {
  it('has reference cases', () => assert.ok(schedulerCases('pndm').length > 0));
  testReferenceCases('pndm', (c) => new PNDMScheduler(c.config, c.name), {
    title: (c) => `matches diffusers: ${c.steps} steps, seed ${c.seed}`,
  });

  it('repeats the second timestep for the PLMS warm-up', () => {
    const scheduler = new PNDMScheduler({ skip_prk_steps: true, steps_offset: 1 }, 'pndm');
    scheduler.setTimesteps(2);
    assert.deepEqual(Array.from(scheduler.timesteps), [501, 1, 1]);
    scheduler.setTimesteps(1);
    assert.deepEqual(Array.from(scheduler.timesteps), [1]);
  });

  it('refuses the Runge-Kutta warm-up steps, which it does not implement', () => {
    assert.throws(() => new PNDMScheduler({}, 'pndm'), /`skip_prk_steps` of PNDMScheduler to be true/);
  });

  it('refuses a timestep outside the training range', () => {
    const scheduler = new PNDMScheduler({ skip_prk_steps: true }, 'pndm');
    assert.throws(
      () => scheduler.addNoise(new Float32Array(1), new Float32Array(1), 1000),
      /timestep that is an integer in 0–999, got 1000/,
    );
  });
});
