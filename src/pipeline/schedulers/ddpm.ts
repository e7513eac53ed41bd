import type { RandomGenerator } from '../rng/types.js';
import { booleanField, choiceField, fixedField, numberField, readConfig, type ConfigOf } from './config.js';
import {
  PREDICTION_TYPES,
  alphaProdAt,
  betaFields,
  checkSameLength,
  configTimesteps,
  dataPrediction,
  spacingFields,
} from './discrete.js';
import { DiscreteScheduler } from './discrete-scheduler.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...betaFields(),
  /** The learned variances need a UNet that predicts them; SD's does not. */
  variance_type: choiceField('fixed_small', ['fixed_small', 'fixed_small_log', 'fixed_large']),
  clip_sample: booleanField(true),
  prediction_type: choiceField('epsilon', PREDICTION_TYPES),
  thresholding: fixedField(false),
  clip_sample_range: numberField(1, { min: 0 }),
  ...spacingFields('leading'),
  rescale_betas_zero_snr: fixedField(false),
} as const;

/**
 * Denoising diffusion probabilistic models (Ho et al. 2020), diffusers' `DDPMScheduler`: ancestral sampling
 * of the posterior q(x_{t−1} | x_t, x̂₀), with fresh noise at every step whose timestep is above 0.
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.0001, `beta_end` 0.02,
 * `beta_schedule` "linear", `variance_type` "fixed_small", `clip_sample` true, `clip_sample_range` 1,
 * `prediction_type` "epsilon", `timestep_spacing` "leading", `steps_offset` 0.
 */
export class DDPMScheduler extends DiscreteScheduler<ConfigOf<typeof FIELDS>> {
  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('DDPMScheduler', FIELDS, config));
  }

  protected override schedule(steps: number): Float64Array {
    return configTimesteps(this.config, steps);
  }

  override step(modelOutput: Float32Array, timestep: number, sample: Float32Array, generator: RandomGenerator): void {
    checkSameLength(modelOutput, sample);
    const f = Math.fround;
    const alphaProd = alphaProdAt(this.alphasCumprod, timestep);
    const previous = this.#previousTimestep(timestep);
    const alphaProdPrev = previous >= 0 ? alphaProdAt(this.alphasCumprod, previous) : 1;
    const betaProd = f(1 - alphaProd);
    const betaProdPrev = f(1 - alphaProdPrev);
    const currentAlpha = f(alphaProd / alphaProdPrev);
    const currentBeta = f(1 - currentAlpha);
    const { prediction_type: type, clip_sample: clip, clip_sample_range: range } = this.config;
    const toData = dataPrediction(type, f(Math.sqrt(alphaProd)), f(Math.sqrt(betaProd)));
    // Formula (7) of the paper: the mean of q(x_{t−1} | x_t, x̂₀).
    const dataCoeff = f(f(f(Math.sqrt(alphaProdPrev)) * currentBeta) / betaProd);
    const sampleCoeff = f(f(f(Math.sqrt(currentAlpha)) * betaProdPrev) / betaProd);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const data = toData.sample * x + toData.output * (modelOutput[i] ?? 0);
      sample[i] = dataCoeff * (clip ? Math.min(Math.max(data, -range), range) : data) + sampleCoeff * x;
    }
    if (timestep > 0) {
      const noise = generator.randn([sample.length]);
      const std = this.#standardDeviation(alphaProdPrev, betaProd, currentBeta);
      for (let i = 0; i < sample.length; i++) sample[i] = (sample[i] ?? 0) + f(std * (noise[i] ?? 0));
    }
  }

  /** The timestep after `timestep` in `timesteps`, or −1 after the last one (diffusers' `previous_timestep`). */
  #previousTimestep(timestep: number): number {
    const index = this.timesteps.indexOf(timestep);
    if (index < 0) {
      throw new RangeError(`Expected one of the timesteps set by setTimesteps, got ${timestep}`);
    }
    return this.timesteps[index + 1] ?? -1;
  }

  /** The standard deviation of the added noise for the configured `variance_type` (float32 like torch). */
  #standardDeviation(alphaProdPrev: number, betaProd: number, currentBeta: number): number {
    const f = Math.fround;
    // β̃_t of formula (7), clamped so that its logarithm stays finite.
    const posterior = Math.max(f(f(f(1 - alphaProdPrev) / betaProd) * currentBeta), 1e-20);
    switch (this.config.variance_type) {
      case 'fixed_small':
        return f(Math.sqrt(posterior));
      case 'fixed_small_log':
        return f(Math.exp(f(0.5 * f(Math.log(posterior)))));
      case 'fixed_large':
        return f(Math.sqrt(currentBeta));
    }
  }
}
