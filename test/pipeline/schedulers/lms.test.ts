import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LMSDiscreteScheduler, lmsCoefficient } from '../../../src/pipeline/schedulers/lms.js';
import { testReferenceCases } from './reference-loop.js';

testReferenceCases('lms', (c) => new LMSDiscreteScheduler(c.config, 'lms'));

test('lms: the coefficients integrate the Lagrange bases exactly', () => {
  const sigmas = new Float64Array([8, 4, 2, 1, 0]);
  // First order: ∫ 1 dτ over [σ_t, σ_{t+1}].
  assert.equal(lmsCoefficient(sigmas, 1, 0, 0), -4);
  // Order 2 at t = 1 through σ = 4 and 8: the bases (τ − 8)/(4 − 8) and (τ − 4)/(8 − 4) over [4, 2].
  assert.ok(Math.abs(lmsCoefficient(sigmas, 2, 1, 0) - -2.5) < 1e-12);
  assert.ok(Math.abs(lmsCoefficient(sigmas, 2, 1, 1) - 0.5) < 1e-12);
  // Order 4: the bases sum to 1, so the coefficients sum to the interval length.
  const sum = [0, 1, 2, 3].reduce((acc, k) => acc + lmsCoefficient(sigmas, 4, 3, k), 0);
  assert.ok(Math.abs(sum - -1) < 1e-12);
});
