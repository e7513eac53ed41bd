import { choiceField, fixedField, integerField, numberField, readConfig, type ConfigOf } from './config.js';
import { betaFields, PREDICTION_TYPES, TIMESTEP_SPACINGS, zeroSnrField } from './discrete.js';
import { SigmaScheduler } from './sigma-scheduler.js';
import { denoiseFor, karrasFields, noiseLevel, sigmaAt } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const f32 = Math.fround;

/**
 * The config keys of diffusers' `EulerDiscreteScheduler` and their defaults: `beta_start` 0.0001, `beta_end`
 * 0.02, `beta_schedule` linear, `prediction_type` epsilon, `use_karras_sigmas` false, `sigma_min`/`sigma_max`
 * null (the schedule's ends), `timestep_spacing` linspace, `steps_offset` 0, `final_sigmas_type` zero.
 * `rescale_betas_zero_snr` false. Interpolation and timestep type are fixed at their defaults.
 */
const FIELDS = {
  ...betaFields({ beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }),
  prediction_type: choiceField('epsilon', PREDICTION_TYPES),
  interpolation_type: fixedField('linear'),
  ...karrasFields(),
  sigma_min: numberField(null, { min: 0 }),
  sigma_max: numberField(null, { min: 0 }),
  timestep_spacing: choiceField('linspace', TIMESTEP_SPACINGS),
  timestep_type: fixedField('discrete'),
  steps_offset: integerField(0, { min: 0 }),
  ...zeroSnrField(),
  final_sigmas_type: choiceField('zero', ['zero', 'sigma_min']),
};

/**
 * Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 2 without churn), diffusers'
 * `EulerDiscreteScheduler`: ids `euler`, `euler_karras` (`use_karras_sigmas`), `euler_v` (`v_prediction`).
 */
export class EulerDiscreteScheduler extends SigmaScheduler<ConfigOf<typeof FIELDS>> {
  override readonly order = 1;

  /** @param config - diffusers scheduler config keys; see the class fields for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('EulerDiscreteScheduler', FIELDS, config));
    this.setTimesteps(this.config.num_train_timesteps);
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    const sigma = sigmaAt(this.sigmas, index);
    const dt = f32(sigmaAt(this.sigmas, index + 1) - sigma);
    const denoise = denoiseFor(this.config.prediction_type);
    const level = noiseLevel(sigma);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const derivative = f32(f32(x - denoise(level, x, modelOutput[i] ?? 0)) / sigma);
      sample[i] = x + f32(derivative * dt);
    }
  }
}
