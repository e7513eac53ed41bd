import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createGenerator } from '../../../src/pipeline/rng/index.js';
import { createScheduler } from '../../../src/pipeline/schedulers/create-scheduler.js';
import type { SchedulerConfig } from '../../../src/pipeline/schedulers/types.js';
import { checkSchedulerCase, loadReferences } from './reference-loop.js';

/** The SD 1.5 scheduler config the references were made from (PNDMScheduler's, as SD 1.5 ships it). */
const SD15 = JSON.parse(
  readFileSync(new URL('../../fixtures/tiny-sd/scheduler/scheduler_config.json', import.meta.url), 'utf8'),
) as SchedulerConfig;

// The model's config plus each id's variant keys must give the configuration diffusers used for that id.
for (const c of loadReferences().schedulers.filter((c) => c.seed === 0)) {
  test(`createScheduler('${c.name}', SD 1.5 config) samples like diffusers' ${c.class} (${c.steps} steps)`, () => {
    checkSchedulerCase(c, createScheduler(c.name, SD15), createGenerator(c.seed, 'cpu'));
  });
}

test('createScheduler: an id forces its variant keys over the model config', () => {
  const karrasModel = { ...SD15, use_karras_sigmas: true, timestep_spacing: 'linspace' };
  const plain = createScheduler('euler', karrasModel);
  const karras = createScheduler('euler_karras', karrasModel);
  plain.setTimesteps(5);
  karras.setTimesteps(5);
  assert.deepEqual(Array.from(plain.timesteps), [999, 749.25, 499.5, 249.75, 0]);
  assert.notDeepEqual(Array.from(karras.timesteps), Array.from(plain.timesteps));
});

test('createScheduler: a config value the class rejects names the key and the class', () => {
  assert.throws(
    () => createScheduler('euler', { ...SD15, beta_schedule: 'cosine' }),
    /Expected `beta_schedule` of EulerDiscreteScheduler to be one of "linear", "scaled_linear", "squaredcos_cap_v2", got "cosine" \(string\)/,
  );
});
