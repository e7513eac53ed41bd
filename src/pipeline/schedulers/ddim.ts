import type { RandomGenerator } from '../rng/types.js';
import { booleanField, choiceField, fixedField, integerField, numberField, readConfig, type ConfigOf } from './config.js';
import {
  PREDICTION_TYPES,
  TIMESTEP_SPACINGS,
  alphaProdAt,
  betaFields,
  checkSameLength,
  configTimesteps,
  dataPrediction,
  noisePrediction,
  zeroSnrField,
} from './discrete.js';
import { DiscreteScheduler } from './discrete-scheduler.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...betaFields(),
  clip_sample: booleanField(true),
  clip_sample_range: numberField(1, { min: 0 }),
  set_alpha_to_one: booleanField(true),
  steps_offset: integerField(0, { min: 0 }),
  prediction_type: choiceField('epsilon', PREDICTION_TYPES),
  thresholding: fixedField(false),
  timestep_spacing: choiceField('leading', TIMESTEP_SPACINGS),
  ...zeroSnrField(),
} as const;

/**
 * Denoising diffusion implicit models (Song et al. 2020), diffusers' `DDIMScheduler` with `eta` 0: the
 * deterministic sampler, one model call per step.
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.0001, `beta_end` 0.02,
 * `beta_schedule` "linear", `clip_sample` true, `clip_sample_range` 1, `set_alpha_to_one` true,
 * `steps_offset` 0, `prediction_type` "epsilon", `timestep_spacing` "leading". Dynamic thresholding and
 * zero-terminal-SNR rescaling are not supported.
 */
export class DDIMScheduler extends DiscreteScheduler<ConfigOf<typeof FIELDS>> {
  /** ᾱ after the last step: 1, or ᾱ at timestep 0. */
  readonly #finalAlphaCumprod: number;
  /** Training timesteps between two inference steps (T // steps, whatever the spacing, as in diffusers). */
  #stride = 0;

  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('DDIMScheduler', FIELDS, config));
    this.#finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : alphaProdAt(this.alphasCumprod, 0);
  }

  protected override schedule(steps: number): Float64Array {
    const timesteps = configTimesteps(this.config, steps);
    this.#stride = Math.floor(this.config.num_train_timesteps / steps);
    return timesteps;
  }

  override step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _generator: RandomGenerator): void {
    if (this.#stride === 0) throw new Error('DDIMScheduler.step called before setTimesteps');
    checkSameLength(modelOutput, sample);
    const f = Math.fround;
    const previous = timestep - this.#stride;
    const alphaProd = alphaProdAt(this.alphasCumprod, timestep);
    const alphaProdPrev = previous >= 0 ? alphaProdAt(this.alphasCumprod, previous) : this.#finalAlphaCumprod;
    const alpha = f(Math.sqrt(alphaProd));
    const sigma = f(Math.sqrt(f(1 - alphaProd)));
    const { prediction_type: type, clip_sample: clip, clip_sample_range: range } = this.config;
    const toData = dataPrediction(type, alpha, sigma);
    const toNoise = noisePrediction(type, alpha, sigma);
    // Formula (12) of the paper with σ_t = 0: x_prev = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev)·ε̂.
    const dataCoeff = f(Math.sqrt(alphaProdPrev));
    const noiseCoeff = f(Math.sqrt(f(1 - alphaProdPrev)));
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const m = modelOutput[i] ?? 0;
      const data = toData.sample * x + toData.output * m;
      const noise = toNoise.sample * x + toNoise.output * m;
      sample[i] = dataCoeff * (clip ? Math.min(Math.max(data, -range), range) : data) + noiseCoeff * noise;
    }
  }
}
