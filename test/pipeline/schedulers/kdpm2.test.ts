import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KDPM2DiscreteScheduler } from '../../../src/pipeline/schedulers/kdpm2.js';
import { logMidpoint } from '../../../src/pipeline/schedulers/sigmas.js';
import { testReferenceCases } from './reference-loop.js';

testReferenceCases('dpm2', (c) => new KDPM2DiscreteScheduler(c.config, 'dpm2'));

test('dpm2: the midpoint level is the geometric mean, and torch’s NaN / 0 at a zero level', () => {
  assert.ok(Math.abs(logMidpoint(4, 1) - 2) < 1e-6);
  assert.ok(Number.isNaN(logMidpoint(4, 0)));
  assert.equal(logMidpoint(0, 4), 0);
});

test('dpm2: Karras sigmas give integer timesteps, as diffusers rounds them', () => {
  const scheduler = new KDPM2DiscreteScheduler({ use_karras_sigmas: true }, 'dpm2');
  scheduler.setTimesteps(6);
  const levels = scheduler.timesteps.filter((_, i) => i % 2 === 0);
  assert.ok(levels.every((t) => Number.isInteger(t)), String(levels));
  assert.equal(scheduler.timesteps.length, 11);
});
