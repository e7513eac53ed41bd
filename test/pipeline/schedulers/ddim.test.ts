import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DDIMScheduler } from '../../../src/pipeline/schedulers/ddim.js';
import { schedulerCases, testReferenceCases } from './reference-loop.js';

describe('DDIMScheduler', () => {
  for (const id of ['ddim', 'ddim_trailing', 'ddim_v'] as const) {
    it(`${id} has reference cases`, () => assert.ok(schedulerCases(id).length > 0));
    testReferenceCases(id, (c) => new DDIMScheduler(c.config, c.name), {
      title: (c) => `${id} matches diffusers: ${c.steps} steps, seed ${c.seed}`,
    });
  }

  it('clips the predicted clean sample by default', () => {
    const scheduler = new DDIMScheduler({ prediction_type: 'sample' }, 'ddim');
    scheduler.setTimesteps(1);
    const sample = Float32Array.of(0);
    // One step from t = 0 to the final ᾱ = 1 lands on the clipped prediction.
    scheduler.step(Float32Array.of(5), scheduler.timesteps[0] ?? NaN, sample, { randn: () => new Float32Array(0) });
    assert.equal(sample[0], 1);
  });

  it('rejects options it does not implement', () => {
    assert.throws(() => new DDIMScheduler({ thresholding: true }, 'ddim'), /`thresholding` of DDIMScheduler to be false/);
    assert.throws(
      () => new DDIMScheduler({ timestep_spacing: 'even' }, 'ddim'),
      /`timestep_spacing` of DDIMScheduler to be one of "linspace", "leading", "trailing"/,
    );
  });

  it('rejects step counts beyond the training timesteps', () => {
    assert.throws(() => new DDIMScheduler({}, 'ddim').setTimesteps(1001), /integer in 1–1000, got 1001/);
  });
});
