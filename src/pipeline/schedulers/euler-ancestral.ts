import type { RandomGenerator } from '../rng/types.js';
import { choiceField, readConfig, type ConfigOf } from './config.js';
import { betaFields, spacingFields, zeroSnrField } from './discrete.js';
import { SigmaScheduler } from './sigma-scheduler.js';
import { ancestralSplit, denoiseFor, noiseLevel, sigmaAt } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const f32 = Math.fround;

/**
 * The config keys of diffusers' `EulerAncestralDiscreteScheduler` and their defaults: `beta_start` 0.0001,
 * `beta_end` 0.02, `beta_schedule` linear, `prediction_type` epsilon (or v_prediction; diffusers has no
 * `sample`), `timestep_spacing` linspace, `steps_offset` 0, `rescale_betas_zero_snr` false.
 */
const FIELDS = {
  ...betaFields({ beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }),
  prediction_type: choiceField('epsilon', ['epsilon', 'v_prediction']),
  ...spacingFields('linspace'),
  ...zeroSnrField(),
};

/**
 * Euler ancestral sampling (k-diffusion `sample_euler_ancestral`, η = 1), diffusers'
 * `EulerAncestralDiscreteScheduler`, id `euler_a`: each step goes down to σ_down with Euler's method, then
 * adds fresh noise of σ_up, so the result depends on the generator.
 */
export class EulerAncestralDiscreteScheduler extends SigmaScheduler<ConfigOf<typeof FIELDS>> {
  override readonly order = 1;

  /** @param config - diffusers scheduler config keys; see the class fields for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('EulerAncestralDiscreteScheduler', FIELDS, config));
    this.setTimesteps(this.config.num_train_timesteps);
  }

  protected override advance(
    index: number,
    modelOutput: Float32Array,
    sample: Float32Array,
    generator: RandomGenerator,
  ): void {
    const sigma = sigmaAt(this.sigmas, index);
    const { up, down } = ancestralSplit(sigma, sigmaAt(this.sigmas, index + 1));
    const dt = f32(down - sigma);
    const denoise = denoiseFor(this.config.prediction_type);
    const level = noiseLevel(sigma);
    const noise = generator.randn([sample.length]);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const derivative = f32(f32(x - denoise(level, x, modelOutput[i] ?? 0)) / sigma);
      sample[i] = f32(x + f32(derivative * dt)) + f32((noise[i] ?? 0) * up);
    }
  }
}
