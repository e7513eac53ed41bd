import type { RandomGenerator } from '../rng/types.js';
import { choiceField, integerField, readConfig } from './config.js';
import {
  betaFields,
  checkIndex,
  checkSameLength,
  checkStepCount,
  TIMESTEP_SPACINGS,
  trainingAlphasCumprod,
} from './discrete.js';
import { withFinalSigma } from './schedule.js';
import {
  addNoiseBySigma,
  ancestralSplit,
  buffer,
  denoiseFor,
  initNoiseSigmaOf,
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
 * The config keys of diffusers' `EulerAncestralDiscreteScheduler` and their defaults: `beta_start` 0.0001,
 * `beta_end` 0.02, `beta_schedule` linear, `prediction_type` epsilon (or v_prediction; diffusers has no
 * `sample`), `timestep_spacing` linspace, `steps_offset` 0. Zero-SNR rescaling is not supported.
 */
const FIELDS = {
  ...betaFields({ beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }),
  prediction_type: choiceField('epsilon', ['epsilon', 'v_prediction']),
  timestep_spacing: choiceField('linspace', TIMESTEP_SPACINGS),
  steps_offset: integerField(0, { min: 0 }),
};

/**
 * Euler ancestral sampling (k-diffusion `sample_euler_ancestral`, η = 1), diffusers'
 * `EulerAncestralDiscreteScheduler`, id `euler_a`: each step goes down to σ_down with Euler's method, then
 * adds fresh noise of σ_up, so the result depends on the generator.
 */
export class EulerAncestralDiscreteScheduler implements Scheduler {
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
    this.#config = readConfig('EulerAncestralDiscreteScheduler', FIELDS, config);
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
    return initNoiseSigmaOf(this.#sigmas, this.#config.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.#config;
    checkStepCount(numInferenceSteps, c.num_train_timesteps);
    const { timesteps, sigmas } = sigmaSchedule(this.#training, numInferenceSteps, {
      spacing: c.timestep_spacing,
      numTrainTimesteps: c.num_train_timesteps,
      stepsOffset: c.steps_offset,
      karras: null,
    });
    this.#timesteps = timesteps.map(f32);
    this.#sigmas = withFinalSigma(sigmas, 0);
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

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, generator: RandomGenerator): void {
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    const sigma = sigmaAt(this.#sigmas, index);
    const { up, down } = ancestralSplit(sigma, sigmaAt(this.#sigmas, index + 1));
    const dt = f32(down - sigma);
    const denoise = denoiseFor(this.#config.prediction_type);
    const level = noiseLevel(sigma);
    const noise = generator.randn([sample.length]);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const derivative = f32(f32(x - denoise(level, x, modelOutput[i] ?? 0)) / sigma);
      sample[i] = f32(x + f32(derivative * dt)) + f32((noise[i] ?? 0) * up);
    }
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseBySigma(original, noise, sigmaAt(this.#sigmas, index));
  }
}
