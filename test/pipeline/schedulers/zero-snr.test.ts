// diffusers' schedulers on a model read as v-prediction with zero terminal SNR (the settings a MODELS_DIR sidecar's
// `prediction: "v"` and `zeroTerminalSnr: true` give): Euler and DDIM against test/fixtures/zero-snr/zero_snr.json
// (make_zero_snr.py: diffusers' rescale_zero_terminal_snr, set_timesteps with trailing spacing, scale_model_input
// and step transcribed in numpy), in the reference loop of the diffusers oracle.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createScheduler, type SchedulerConfig, type SchedulerId } from '../../../src/pipeline/schedulers/index.js';
import { assertCloseList, relativeError, runReferenceLoop } from './reference-loop.js';

interface ZeroSnrCase {
  readonly scheduler: SchedulerId;
  readonly steps: number;
  readonly seed: number;
  readonly config: SchedulerConfig;
  readonly timesteps: readonly number[];
  readonly sigmas: readonly number[];
  readonly init_noise_sigma: number;
  readonly latents: readonly number[];
}

const { cases } = JSON.parse(readFileSync('test/fixtures/zero-snr/zero_snr.json', 'utf8')) as { cases: ZeroSnrCase[] };

describe('zero terminal SNR with v-prediction in diffusers\' schedulers (make_zero_snr.py)', () => {
  for (const c of cases) {
    it(`${c.scheduler}, ${c.steps} steps, seed ${c.seed}: timesteps, sigmas, initNoiseSigma and final latents`, (t) => {
      const scheduler = createScheduler(c.scheduler, c.config);
      const latents = runReferenceLoop(scheduler, c.steps, c.seed);
      assertCloseList(scheduler.timesteps, c.timesteps, 'timesteps');
      assertCloseList(scheduler.sigmas, c.sigmas, 'sigmas', 1e-6);
      assertCloseList([scheduler.initNoiseSigma], [c.init_noise_sigma], 'initNoiseSigma', 1e-6);
      const error = relativeError(latents, c.latents);
      assert.ok(error < 1e-5, `final latents: relative error ${error}`);
      t.diagnostic(`final latents: relative error ${error.toExponential(1)}`);
    });
  }

  it('the zero-SNR schedule ends at zero signal: Euler\'s last training σ is 4096 (ᾱ = 2⁻²⁴), not the plain 14.6', () => {
    const config = cases[0]?.config ?? {};
    const rescaled = createScheduler('euler', { ...config, timestep_spacing: 'trailing' });
    const plain = createScheduler('euler', { ...config, rescale_betas_zero_snr: false });
    rescaled.setTimesteps(10);
    plain.setTimesteps(10);
    assert.ok(Math.abs((rescaled.sigmas[0] ?? NaN) - 4096) < 1e-3);
    assert.ok((plain.sigmas[0] ?? NaN) < 15);
  });

  it('a class diffusers gives no zero-SNR rescaling refuses the setting, naming it', () => {
    assert.throws(() => createScheduler('lms', { rescale_betas_zero_snr: true }), /rescale_betas_zero_snr/);
  });
});
