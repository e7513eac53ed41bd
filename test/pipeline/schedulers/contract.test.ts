// The Scheduler contract, run over every sampler id with a diffusers class without knowing which class serves it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createGenerator } from '../../../src/pipeline/rng/index.js';
import { createScheduler } from '../../../src/pipeline/schedulers/create-scheduler.js';
import { isDiffusersSampler, SCHEDULER_IDS, type SchedulerConfig, type SchedulerId } from '../../../src/pipeline/schedulers/types.js';
import { fakeModel, testReferenceCases } from './reference-loop.js';

const SD15 = JSON.parse(
  readFileSync(new URL('../../fixtures/tiny-sd/scheduler/scheduler_config.json', import.meta.url), 'utf8'),
) as SchedulerConfig;

const LENGTH = 2 * 4 * 8 * 8;
const MAX_STEPS = 50;

for (const id of SCHEDULER_IDS.filter(isDiffusersSampler)) {
  test(`contract ${id}: 1–${MAX_STEPS} steps run a full loop in place with finite values`, () => {
    const scheduler = createScheduler(id, SD15);
    assert.equal(scheduler.id, id);
    assert.ok(scheduler.order === 1 || scheduler.order === 2, `order ${scheduler.order}`);
    const generator = createGenerator(7, 'cpu');
    for (let steps = 1; steps <= MAX_STEPS; steps++) {
      scheduler.setTimesteps(steps);
      const { timesteps } = scheduler;
      assert.ok(timesteps.length >= steps, `${steps} steps: ${timesteps.length} timesteps`);
      // Non-increasing, up to rounding: DPM2 a's midpoint level equals the next level mathematically.
      const descending = timesteps.every((t, i) => Number.isFinite(t) && (i === 0 || t <= (timesteps[i - 1] ?? NaN) + 1e-3));
      assert.ok(descending, `${steps} steps: descending timesteps`);
      assert.ok(scheduler.sigmas.every((s) => s >= 0), `${steps} steps: sigmas`);
      assert.ok(Number.isFinite(scheduler.initNoiseSigma) && scheduler.initNoiseSigma > 0, 'initNoiseSigma');
      const sample = generator.randn([LENGTH]).map((v) => v * scheduler.initNoiseSigma);
      for (const t of timesteps) {
        const input = scheduler.scaleModelInput(sample, t);
        assert.equal(input.length, LENGTH);
        scheduler.step(fakeModel(input, t), t, sample, generator);
      }
      assert.equal(sample.length, LENGTH);
      assert.ok(sample.every(Number.isFinite), `${steps} steps: finite latents`);
    }
  });

  test(`contract ${id}: addNoise returns a new array and setTimesteps resets the step state`, () => {
    const scheduler = createScheduler(id, SD15);
    scheduler.setTimesteps(10);
    const original = new Float32Array(LENGTH).fill(0.5);
    const noise = createGenerator(1, 'cpu').randn([LENGTH]);
    const t0 = scheduler.timesteps[0] ?? NaN;
    const noised = scheduler.addNoise(original, noise, t0);
    assert.notEqual(noised, original);
    assert.equal(noised.length, LENGTH);
    assert.ok(noised.every(Number.isFinite));
    assert.ok(original.every((v) => v === 0.5), 'original untouched');
    // Two identical runs from fresh schedules give identical latents (no state leaks between runs).
    const run = (): Float32Array => {
      scheduler.setTimesteps(6);
      const generator = createGenerator(3, 'cpu');
      const sample = generator.randn([LENGTH]);
      for (const t of scheduler.timesteps) {
        scheduler.step(fakeModel(scheduler.scaleModelInput(sample, t), t), t, sample, generator);
      }
      return sample;
    };
    assert.deepEqual(run(), run());
  });
}

test('the reference-case helper fails loudly for a scheduler without cases, rather than registering no test', () => {
  const unknown = 'no_such_scheduler' as SchedulerId;
  assert.throws(
    () => testReferenceCases(unknown, (c) => createScheduler('euler', c.config)),
    /no reference case for scheduler `no_such_scheduler`/,
  );
});
