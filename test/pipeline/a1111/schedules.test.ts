// The sigma table of every ported sampler × every schedule type, against test/fixtures/a1111-schedules: A1111
// v1.10.1's `KDiffusionSampler.get_sigmas` and schedule functions transcribed in numpy float32 (make_tables.py,
// which agrees with the A1111 oracle's sigmas to 2.4e-7).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CompVisSchedule, ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { kSamplerFor } from '../../../src/pipeline/a1111/k-samplers.js';
import { LcmNoiseLevels } from '../../../src/pipeline/a1111/lcm.js';
import { betaQuantile } from '../../../src/pipeline/a1111/beta-distribution.js';
import { samplerSigmas } from '../../../src/pipeline/a1111/sampler-sigmas.js';
import { parseScheduleType, SCHEDULE_TYPES } from '../../../src/pipeline/a1111/schedule-types.js';
import { parseSamplerName } from '../../../src/pipeline/index.js';

interface Table {
  readonly sampler: string;
  readonly schedule_type: string;
  readonly steps: number;
  readonly sigmas: readonly number[];
}

const {
  tables,
  lcm_denoiser: lcmDenoiser,
  beta_ppf: betaPpf,
} = JSON.parse(readFileSync('test/fixtures/a1111-schedules/schedules.json', 'utf8')) as {
  tables: Table[];
  lcm_denoiser: { sigma: number; t: number; out: number }[];
  beta_ppf: { a: number; b: number; p: number[]; x: number[] }[];
};
const schedule = new CompVisSchedule(
  ldmAlphasCumprod({ beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' }),
);

describe('A1111 sigma schedules', () => {
  it('covers every schedule type dreamcord offers', () => {
    assert.deepEqual([...new Set(tables.map((t) => t.schedule_type))].sort(), [...SCHEDULE_TYPES].sort());
  });

  for (const table of tables) {
    it(`${table.sampler}, ${table.schedule_type}, ${table.steps} steps`, () => {
      const sampler = kSamplerFor(parseSamplerName(table.sampler));
      assert.ok(sampler);
      const sigmas = samplerSigmas(sampler, parseScheduleType(table.schedule_type), table.steps, schedule);
      assert.equal(sigmas.length, table.sigmas.length);
      table.sigmas.forEach((expected, i) => {
        const actual = sigmas[i] ?? NaN;
        assert.ok(Math.abs(actual - expected) <= 2e-6 * Math.max(1, expected), `sigma ${i}: ${actual} vs ${expected}`);
      });
    });
  }

  it('LCM\'s denoiser wrapper: its 50 levels, each level\'s timestep, and its output c_out·(x − σ·ε) + c_skip·x', () => {
    const levels = new LcmNoiseLevels(schedule.alphasCumprod);
    assert.equal(levels.sigmas.length, lcmDenoiser.length);
    lcmDenoiser.forEach(({ sigma, t, out }, i) => {
      assert.ok(Math.abs((levels.sigmas[i] ?? NaN) - sigma) <= 1e-6 * sigma, `level ${i}`);
      assert.equal(levels.sigmaToT(sigma), t);
      assert.ok(Math.abs(levels.denoised(1, 1, sigma) - out) <= 2e-6 * Math.max(1, Math.abs(out)), `output at level ${i}`);
    });
  });

  it('the beta quantile of the Beta schedule: scipy.stats.beta.ppf over probabilities and shapes', () => {
    for (const { a, b, p, x } of betaPpf) {
      p.forEach((probability, i) => {
        const expected = x[i] ?? NaN;
        const actual = betaQuantile(probability, a, b);
        assert.ok(Math.abs(actual - expected) <= 1e-12 + 1e-10 * expected, `ppf(${probability}; ${a}, ${b}) = ${actual}, scipy ${expected}`);
      });
    }
    assert.throws(() => betaQuantile(1.5, 0.6, 0.6), /p in \[0, 1\]/);
  });

  it('reads A1111 labels and names in any case', () => {
    assert.equal(parseScheduleType('karras'), 'Karras');
    assert.equal(parseScheduleType('sgm_uniform'), 'SGM Uniform');
    assert.equal(parseScheduleType('SGMUniform'), 'SGM Uniform');
    assert.equal(parseScheduleType(' Align Your Steps '), 'Align Your Steps');
    assert.equal(parseScheduleType('beta'), 'Beta');
    assert.throws(() => parseScheduleType('Fancy'), /^RangeError: Unknown schedule type "Fancy"\. Valid: Automatic, Uniform/);
  });
});
