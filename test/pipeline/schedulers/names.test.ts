import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseSamplerName,
  SAMPLER_CHOICES,
  samplerLabel,
  suggestSamplers,
} from '../../../src/pipeline/schedulers/names.js';
import { SCHEDULER_IDS } from '../../../src/pipeline/schedulers/types.js';

test('names: the A1111 sampler names map to their ids, whatever the case', () => {
  const names: [string, string][] = [
    ['Euler a', 'euler_a'],
    ['Euler', 'euler'],
    ['LMS', 'lms'],
    ['Heun', 'heun'],
    ['DPM2', 'dpm2'],
    ['DPM2 a', 'dpm2_a'],
    ['DPM++ 2M', 'dpmpp_2m'],
    ['DPM++ 2M Karras', 'dpmpp_2m_karras'],
    ['DPM++ 2S', 'dpmpp_2s'],
    ['DDIM', 'ddim'],
    ['PLMS', 'pndm'],
    ['UniPC', 'unipc'],
    ['DEIS', 'deis'],
    ['DDPM', 'ddpm'],
    ['LCM', 'lcm'],
    ['Euler Karras', 'euler_karras'],
    ['euler A', 'euler_a'],
    ['  dpm++   2m  karras ', 'dpmpp_2m_karras'],
  ];
  for (const [name, id] of names) assert.equal(parseSamplerName(name), id, name);
});

test('names: every id parses as itself, and so does its display name', () => {
  for (const id of SCHEDULER_IDS) {
    assert.equal(parseSamplerName(id), id);
    assert.equal(parseSamplerName(id.toUpperCase()), id);
    assert.equal(parseSamplerName(samplerLabel(id).name), id);
  }
});

test('names: an unknown name is refused with the list of valid ones', () => {
  assert.throws(() => parseSamplerName('DPM++ 9M'), (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.match(error.message, /^Unknown sampler "DPM\+\+ 9M"\. Valid samplers: PLMS, DDIM, /);
    for (const choice of SAMPLER_CHOICES) assert.ok(error.message.includes(choice.name), choice.name);
    return true;
  });
  assert.throws(() => parseSamplerName(''), /Unknown sampler ""/);
});

test('names: labels split the A1111 sampler and schedule type for infotext', () => {
  assert.deepEqual(samplerLabel('dpmpp_2m_karras'), { name: 'DPM++ 2M Karras', sampler: 'DPM++ 2M', schedule: 'Karras' });
  assert.deepEqual(samplerLabel('euler_a'), { name: 'Euler a', sampler: 'Euler a', schedule: null });
  assert.equal(samplerLabel('pndm').sampler, 'PLMS');
});

test('names: the Discord choices list every id once, with distinct names', () => {
  assert.deepEqual(SAMPLER_CHOICES.map((c) => c.value), [...SCHEDULER_IDS]);
  assert.equal(new Set(SAMPLER_CHOICES.map((c) => c.name)).size, SCHEDULER_IDS.length);
});

test('names: autocomplete suggests matching samplers, prefix matches first', () => {
  assert.deepEqual(suggestSamplers('dpm++').map((c) => c.value), ['dpmpp_2m', 'dpmpp_2m_karras', 'dpmpp_2s', 'dpmpp_2s_a', 'dpmpp_sde', 'dpmpp_2m_sde', 'dpmpp_2m_sde_heun', 'dpmpp_3m_sde']);
  assert.deepEqual(suggestSamplers('karras').map((c) => c.value), ['euler_karras', 'dpmpp_2m_karras']);
  // Discord shows at most 25 autocomplete choices.
  assert.equal(suggestSamplers('').length, Math.min(SCHEDULER_IDS.length, 25));
  assert.equal(suggestSamplers('', 5).length, 5);
  assert.equal(suggestSamplers('eul')[0]?.value, 'euler');
  assert.deepEqual(suggestSamplers('zzz'), []);
});
