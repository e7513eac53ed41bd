import type { RandomGenerator } from '../rng/types.js';
import { choiceField, fixedField, integerField, numberField, readConfig } from './config.js';
import {
  betaFields,
  checkIndex,
  checkSameLength,
  checkStepCount,
  PREDICTION_TYPES,
  TIMESTEP_SPACINGS,
  trainingAlphasCumprod,
} from './discrete.js';
import { withFinalSigma } from './schedule.js';
import {
  addNoiseBySigma,
  buffer,
  denoiseFor,
  initNoiseSigmaOf,
  karrasFields,
  noiseIndex,
  noiseLevel,
  scaleBySigma,
  sigmaAt,
  sigmaSchedule,
  startIndex,
  type TrainingSigmas,
  trainingSigmasOf,
} from './sigmas.js';
import type { Scheduler, SchedulerConfig, SchedulerId } from './types.js';

const f32 = Math.fround;

/**
 * The config keys of diffusers' `EulerDiscreteScheduler` and their defaults: `beta_start` 0.0001, `beta_end`
 * 0.02, `beta_schedule` linear, `prediction_type` epsilon, `use_karras_sigmas` false, `sigma_min`/`sigma_max`
 * null (the schedule's ends), `timestep_spacing` linspace, `steps_offset` 0, `final_sigmas_type` zero.
 * Interpolation, timestep type and zero-SNR rescaling are fixed at their defaults.
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
  rescale_betas_zero_snr: fixedField(false),
  final_sigmas_type: choiceField('zero', ['zero', 'sigma_min']),
};

/**
 * Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 2 without churn), diffusers'
 * `EulerDiscreteScheduler`: ids `euler`, `euler_karras` (`use_karras_sigmas`), `euler_v` (`v_prediction`).
 */
export class EulerDiscreteScheduler implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 1;
  readonly #config;
  readonly #training: TrainingSigmas;
  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  #stepIndex: number | null = null;
  #beginIndex: number | null = null;
  #scaled: Float32Array | undefined;

  /** @param config - diffusers scheduler config keys; see the class fields for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    this.id = id;
    this.#config = readConfig('EulerDiscreteScheduler', FIELDS, config);
    this.#training = trainingSigmasOf(trainingAlphasCumprod(this.#config));
    this.setTimesteps(this.#config.num_train_timesteps);
  }

  get timesteps(): Float64Array {
    return this.#timesteps;
  }

  get sigmas(): Float64Array {
    return this.#sigmas;
  }

  get initNoiseSigma(): number {
    return initNoiseSigmaOf(this.sigmas, this.#config.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.#config;
    checkStepCount(numInferenceSteps, c.num_train_timesteps);
    const { timesteps, sigmas } = sigmaSchedule(this.#training, numInferenceSteps, {
      spacing: c.timestep_spacing,
      numTrainTimesteps: c.num_train_timesteps,
      stepsOffset: c.steps_offset,
      karras: c.use_karras_sigmas ? { sigmaMin: c.sigma_min, sigmaMax: c.sigma_max } : null,
    });
    const last = c.final_sigmas_type === 'zero' ? 0 : (this.#training.sigmas[0] ?? NaN);
    this.#timesteps = timesteps.map(f32);
    this.#sigmas = withFinalSigma(sigmas, last);
    this.#stepIndex = null;
    this.#beginIndex = null;
  }

  setBeginIndex(index: number): void {
    checkIndex(index, this.#timesteps.length);
    this.#beginIndex = index;
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep);
    this.#scaled = buffer(this.#scaled, sample.length);
    return scaleBySigma(sample, sigmaAt(this.#sigmas, this.#stepIndex), this.#scaled);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _generator: RandomGenerator): void {
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    const sigma = sigmaAt(this.#sigmas, index);
    const dt = f32(sigmaAt(this.#sigmas, index + 1) - sigma);
    const denoise = denoiseFor(this.#config.prediction_type);
    const level = noiseLevel(sigma);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const derivative = f32(f32(x - denoise(level, x, modelOutput[i] ?? 0)) / sigma);
      sample[i] = x + f32(derivative * dt);
    }
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseBySigma(original, noise, sigmaAt(this.#sigmas, index));
  }
}
