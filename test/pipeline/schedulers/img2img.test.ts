import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGenerator } from '../../../src/pipeline/rng/index.js';
import { createScheduler } from '../../../src/pipeline/schedulers/create-scheduler.js';
import { img2imgTimesteps } from '../../../src/pipeline/schedulers/img2img.js';
import { linspaceF32 } from '../../../src/pipeline/schedulers/schedule.js';
import {
  assertCloseList,
  LATENT_SHAPE,
  LATENT_TOLERANCE,
  loadReferences,
  readF32,
  relativeError,
  schedulerCases,
} from './reference-loop.js';

for (const c of loadReferences().img2img) {
  test(`img2img ${c.name}: ${c.steps} steps at strength ${c.strength} match diffusers`, (t) => {
    const config = schedulerCases(c.name)[0]?.config;
    assert.ok(config, `a scheduler reference case for ${c.name}`);
    const scheduler = createScheduler(c.name, config);
    const { timesteps, firstTimestep } = img2imgTimesteps(scheduler, c.steps, c.strength);
    assertCloseList(timesteps, c.timesteps, 'timesteps');
    assert.equal(firstTimestep, timesteps[0]);
    // diffusers' clean = torch.linspace(-1, 1, 256) as [1,4,8,8], noise = randn with seed 9 (CPU).
    const clean = linspaceF32(-1, 1, 256);
    const noise = createGenerator(9, 'cpu').randn(LATENT_SHAPE);
    const error = relativeError(scheduler.addNoise(clean, noise, firstTimestep), readF32(c.noised_file));
    t.diagnostic(`add_noise relative error ${error.toExponential(2)}`);
    assert.ok(error <= LATENT_TOLERANCE, `add_noise: relative error ${error}`);
  });
}

test('img2img: strength outside 0–1, or too small to leave a step, is refused', () => {
  const scheduler = createScheduler('euler', {});
  assert.throws(() => img2imgTimesteps(scheduler, 20, 1.5), /Expected `strength` 0–1, got 1.5/);
  assert.throws(() => img2imgTimesteps(scheduler, 20, Number.NaN), /Expected `strength` 0–1, got NaN/);
  assert.throws(() => img2imgTimesteps(scheduler, 20, 0.04), /at least one step, got 0.04 × 20/);
});

test('img2img: second-order samplers skip two model calls per skipped step', () => {
  const scheduler = createScheduler('heun', {});
  scheduler.setTimesteps(10);
  const all = Array.from(scheduler.timesteps);
  const { timesteps } = img2imgTimesteps(scheduler, 10, 0.5);
  assert.deepEqual(Array.from(timesteps), all.slice(10));
});
