import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EulerDiscreteScheduler } from '../../../src/pipeline/schedulers/euler.js';
import { fixtureNoise, schedulerCases, testReferenceCases } from './reference-loop.js';

for (const id of ['euler', 'euler_karras', 'euler_v'] as const) {
  testReferenceCases(id, (c) => new EulerDiscreteScheduler(c.config, id));
}

test('euler: Karras bounds come from sigma_min / sigma_max when the config sets them', () => {
  const scheduler = new EulerDiscreteScheduler({ use_karras_sigmas: true, sigma_min: 0.1, sigma_max: 10 }, 'euler_karras');
  scheduler.setTimesteps(4);
  const [first, , , last, final] = Array.from(scheduler.sigmas);
  assert.equal(scheduler.sigmas.length, 5);
  assert.equal(first, 10);
  assert.equal(last, Math.fround(0.1));
  assert.equal(final, 0);
});

test('euler: final_sigmas_type sigma_min ends on the smallest training sigma instead of 0', () => {
  const sd15 = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 };
  const scheduler = new EulerDiscreteScheduler({ ...sd15, final_sigmas_type: 'sigma_min' }, 'euler');
  scheduler.setTimesteps(5);
  assert.equal(scheduler.sigmas.at(-1), Math.fround(0.029167532920837402));
});

test('euler: leading spacing scales the initial noise to √(σ_max² + 1)', () => {
  const scheduler = new EulerDiscreteScheduler({ timestep_spacing: 'leading', steps_offset: 1 }, 'euler');
  scheduler.setTimesteps(10);
  assert.deepEqual(Array.from(scheduler.timesteps), [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  const max = scheduler.sigmas[0] ?? NaN;
  assert.equal(scheduler.initNoiseSigma, Math.fround(Math.sqrt(Math.fround(Math.fround(max * max) + 1))));
});

test('euler: a begin index starts the loop mid-schedule, and addNoise uses its sigma', () => {
  const [c] = schedulerCases('euler');
  assert.ok(c);
  const scheduler = new EulerDiscreteScheduler(c.config, 'euler');
  scheduler.setTimesteps(10);
  scheduler.setBeginIndex(4);
  const sigma = scheduler.sigmas[4] ?? NaN;
  const noised = scheduler.addNoise(new Float32Array([1, 2]), new Float32Array([1, -1]), scheduler.timesteps[4] ?? NaN);
  assert.deepEqual(Array.from(noised), [Math.fround(1 + sigma), Math.fround(2 - sigma)]);
  const sample = new Float32Array([3]);
  const scaled = scheduler.scaleModelInput(sample, scheduler.timesteps[4] ?? NaN);
  assert.equal(scaled[0], Math.fround(3 / Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)))));
});

test('euler: a timestep that is not in the schedule is refused', () => {
  const scheduler = new EulerDiscreteScheduler({}, 'euler');
  scheduler.setTimesteps(10);
  assert.throws(
    () => scheduler.scaleModelInput(new Float32Array(1), 500),
    /Expected one of the scheduler's timesteps, got 500/,
  );
  assert.throws(() => scheduler.setTimesteps(0), /Expected `numInferenceSteps` to be an integer in 1–1000, got 0/);
  assert.throws(() => scheduler.step(new Float32Array(2), 999, new Float32Array(3), fixtureNoise(0)), /same size/);
});
