import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  booleanField,
  choiceField,
  fixedField,
  integerField,
  numberField,
  readConfig,
} from '../../../src/pipeline/schedulers/config.js';
import { EulerDiscreteScheduler } from '../../../src/pipeline/schedulers/euler.js';
import { HeunDiscreteScheduler } from '../../../src/pipeline/schedulers/heun.js';

const FIELDS = {
  num_train_timesteps: integerField(1000, { min: 2 }),
  beta_start: numberField(0.0001, { min: 0, max: 1 }),
  sigma_min: numberField(null, { min: 0 }),
  use_karras_sigmas: booleanField(false),
  timestep_spacing: choiceField('linspace', ['linspace', 'leading', 'trailing']),
  trained_betas: fixedField(null),
};

test('config: keys the class accepts are read, the rest take the class defaults, others are ignored', () => {
  const config = readConfig('TestScheduler', FIELDS, {
    _class_name: 'PNDMScheduler',
    beta_start: 0.00085,
    sigma_min: 0.03,
    timestep_spacing: 'leading',
    skip_prk_steps: true,
  });
  assert.deepEqual(config, {
    num_train_timesteps: 1000,
    beta_start: 0.00085,
    sigma_min: 0.03,
    use_karras_sigmas: false,
    timestep_spacing: 'leading',
    trained_betas: null,
  });
  assert.ok(Object.isFrozen(config));
  assert.equal(readConfig('TestScheduler', FIELDS, { sigma_min: null }).sigma_min, null);
});

test('config: a value of the wrong type or out of range is refused precisely', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ beta_start: '0.1' }, /Expected `beta_start` of TestScheduler to be a finite number, got "0.1" \(string\)$/],
    [{ beta_start: 2 }, /Expected `beta_start` of TestScheduler to be in 0–1, got 2$/],
    [{ beta_start: null }, /Expected `beta_start` of TestScheduler to be a finite number, got null$/],
    [{ num_train_timesteps: 999.5 }, /Expected `num_train_timesteps` of TestScheduler to be an integer, got 999.5 \(number\)$/],
    [{ num_train_timesteps: 1 }, /Expected `num_train_timesteps` of TestScheduler to be at least 2, got 1$/],
    [{ sigma_min: -1 }, /Expected `sigma_min` of TestScheduler to be at least 0, got -1$/],
    [{ sigma_min: 'low' }, /Expected `sigma_min` of TestScheduler to be a finite number or null, got "low" \(string\)$/],
    [{ use_karras_sigmas: 1 }, /Expected `use_karras_sigmas` of TestScheduler to be a boolean, got 1 \(number\)$/],
    [
      { timestep_spacing: 'uniform' },
      /Expected `timestep_spacing` of TestScheduler to be one of "linspace", "leading", "trailing", got "uniform" \(string\)$/,
    ],
    [
      { trained_betas: [0.1, 0.2] },
      /Expected `trained_betas` of TestScheduler to be null \(the only value supported\), got \[0.1,0.2\] \(array\)$/,
    ],
  ];
  for (const [config, message] of cases) assert.throws(() => readConfig('TestScheduler', FIELDS, config), message);
});

test('config: schedulers report bad config values with their diffusers class name', () => {
  assert.throws(
    () => new EulerDiscreteScheduler({ use_exponential_sigmas: true }, 'euler'),
    /^Error: Expected `use_exponential_sigmas` of EulerDiscreteScheduler to be false \(the only value supported\), got true \(boolean\)$/,
  );
  assert.throws(
    () => new HeunDiscreteScheduler({ clip_sample_range: -1 }, 'heun'),
    /Expected `clip_sample_range` of HeunDiscreteScheduler to be at least 0, got -1/,
  );
});
