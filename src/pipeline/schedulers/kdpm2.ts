import type { RandomGenerator } from '../rng/types.js';
import { choiceField, integerField, readConfig, type ConfigOf } from './config.js';
import {
  betaFields,
  checkIndex,
  checkSameLength,
  checkStepCount,
  roundHalfEven,
  TIMESTEP_SPACINGS,
  trainingAlphasCumprod,
} from './discrete.js';
import { sigmaToTF32, withFinalSigma } from './schedule.js';
import {
  addNoiseBySigma,
  buffer,
  denoiseFor,
  dpm2Layout,
  initNoiseSigmaOf,
  karrasFields,
  logMidpoint,
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
 * The config keys of diffusers' `KDPM2DiscreteScheduler` and `KDPM2AncestralDiscreteScheduler` and their
 * defaults: `beta_start` 0.00085, `beta_end` 0.012, `beta_schedule` linear, `use_karras_sigmas` false,
 * `prediction_type` epsilon (or v_prediction; diffusers has no `sample`), `timestep_spacing` linspace,
 * `steps_offset` 0.
 */
export const KDPM2_FIELDS = {
  ...betaFields({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'linear' }),
  ...karrasFields(),
  prediction_type: choiceField('epsilon', ['epsilon', 'v_prediction']),
  timestep_spacing: choiceField('linspace', TIMESTEP_SPACINGS),
  steps_offset: integerField(0, { min: 0 }),
};

/** The noise levels of `setTimesteps` for both DPM2 samplers, before their per-call layout. */
export interface Dpm2Levels {
  /** Timesteps of the levels, float32 values (rounded to integers with Karras sigmas, like diffusers). */
  readonly timesteps: Float64Array;
  /** The levels with the final 0, float32 values. */
  readonly sigmas: Float64Array;
}

/** {@link Dpm2Levels} for `steps` steps of a config read with {@link KDPM2_FIELDS}. */
export function dpm2Levels(
  training: TrainingSigmas,
  steps: number,
  config: ConfigOf<typeof KDPM2_FIELDS>,
): Dpm2Levels {
  checkStepCount(steps, config.num_train_timesteps);
  const karras = config.use_karras_sigmas;
  const { timesteps, sigmas } = sigmaSchedule(training, steps, {
    spacing: config.timestep_spacing,
    numTrainTimesteps: config.num_train_timesteps,
    stepsOffset: config.steps_offset,
    karras: karras ? { sigmaMin: null, sigmaMax: null } : null,
  });
  const levelTimesteps = karras ? timesteps.map(roundHalfEven) : timesteps;
  return { timesteps: levelTimesteps.map(f32), sigmas: withFinalSigma(sigmas, 0) };
}

/**
 * DPM-Solver-2 as k-diffusion's `sample_dpm_2` (Karras et al. 2022): each step evaluates the model at the
 * level and at the log-space midpoint towards the next one, then takes the whole step with the midpoint's
 * derivative. diffusers' `KDPM2DiscreteScheduler`, id `dpm2`; order 2, so `timesteps` lists every model call.
 */
export class KDPM2DiscreteScheduler implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 2;
  readonly #config;
  readonly #training: TrainingSigmas;
  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  /** Per call, the midpoint level between the previous level and this call's one. */
  #midpoints: Float64Array = new Float64Array(0);
  #stepIndex: number | null = null;
  #beginIndex: number | null = null;
  #scaled: Float32Array | undefined;
  /** The sample the midpoint evaluation started from; null = the next call is a first-order one. */
  #start: Float32Array | null = null;
  #startBuffer: Float32Array | undefined;

  /** @param config - diffusers scheduler config keys; see {@link KDPM2_FIELDS} for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    this.id = id;
    this.#config = readConfig('KDPM2DiscreteScheduler', KDPM2_FIELDS, config);
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
    const { timesteps, sigmas } = dpm2Levels(this.#training, numInferenceSteps, this.#config);
    // torch's `roll(1)` pairs the first level with the final 0, giving NaN there; that entry is never used.
    const midpoints = sigmas.map((s, i) => logMidpoint(s, sigmas.at(i - 1) ?? NaN));
    const midTimesteps = midpoints.map((s) => sigmaToTF32(s, this.#training.logSigmas));
    this.#sigmas = dpm2Layout(sigmas);
    this.#midpoints = dpm2Layout(midpoints);
    // [t0, mid1, t1, mid2, t2, …, mid(n−1), t(n−1)]
    const calls = new Float64Array(2 * timesteps.length - 1);
    calls[0] = timesteps[0] ?? NaN;
    for (let i = 1; i < timesteps.length; i++) {
      calls[2 * i - 1] = midTimesteps[i] ?? NaN;
      calls[2 * i] = timesteps[i] ?? NaN;
    }
    this.#timesteps = calls;
    this.#start = null;
    this.#stepIndex = null;
    this.#beginIndex = null;
  }

  setBeginIndex(index: number): void {
    checkIndex(index, this.#timesteps.length);
    this.#beginIndex = index;
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    const sigma = this.#start === null ? sigmaAt(this.#sigmas, index) : sigmaAt(this.#midpoints, index);
    this.#scaled = buffer(this.#scaled, sample.length);
    return scaleBySigma(sample, sigma, this.#scaled);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _generator: RandomGenerator): void {
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    const start = this.#start;
    if (start === null) {
      // First order: Euler from the level to the midpoint, remembering where it started.
      const sigma = sigmaAt(this.#sigmas, index);
      const saved = (this.#startBuffer = buffer(this.#startBuffer, sample.length));
      saved.set(sample);
      const midpoint = sigmaAt(this.#midpoints, index + 1);
      eulerStep(sample, saved, modelOutput, this.#config.prediction_type, sigma, sigma, midpoint);
      this.#start = saved;
    } else {
      // Second order: the whole step from the start with the derivative at the midpoint.
      const sigma = sigmaAt(this.#sigmas, index - 1);
      const midpoint = sigmaAt(this.#midpoints, index);
      const next = sigmaAt(this.#sigmas, index);
      eulerStep(sample, start, modelOutput, this.#config.prediction_type, midpoint, sigma, next);
      this.#start = null;
    }
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseBySigma(original, noise, sigmaAt(this.#sigmas, index));
  }
}

/**
 * `sample ← start + d·(to − from)` with the ODE derivative d = (sample − x₀)/`evaluated` of the model output
 * at level `evaluated` (float32 like diffusers): the move both DPM2 samplers make in each half-step.
 */
export function eulerStep(
  sample: Float32Array,
  start: Float32Array,
  modelOutput: Float32Array,
  predictionType: 'epsilon' | 'v_prediction',
  evaluated: number,
  from: number,
  to: number,
): void {
  const denoise = denoiseFor(predictionType);
  const level = noiseLevel(evaluated);
  const dt = f32(to - from);
  for (let i = 0; i < sample.length; i++) {
    const x = sample[i] ?? 0;
    const derivative = f32(f32(x - denoise(level, x, modelOutput[i] ?? 0)) / evaluated);
    sample[i] = (start[i] ?? 0) + f32(derivative * dt);
  }
}
