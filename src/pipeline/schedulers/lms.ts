import type { RandomGenerator } from '../rng/types.js';
import { choiceField, integerField, readConfig } from './config.js';
import {
  betaFields,
  checkIndex,
  checkSameLength,
  checkStepCount,
  PREDICTION_TYPES,
  TIMESTEP_SPACINGS,
  trainingAlphasCumprod,
} from './discrete.js';
import { TensorHistory } from './history.js';
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

/** How many past derivatives the linear multistep formula combines (diffusers' `step(order=4)`). */
const LMS_ORDER = 4;

/**
 * The config keys of diffusers' `LMSDiscreteScheduler` and their defaults: `beta_start` 0.0001, `beta_end`
 * 0.02, `beta_schedule` linear, `use_karras_sigmas` false, `prediction_type` epsilon, `timestep_spacing`
 * linspace, `steps_offset` 0.
 */
const FIELDS = {
  ...betaFields({ beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }),
  ...karrasFields(),
  prediction_type: choiceField('epsilon', PREDICTION_TYPES),
  timestep_spacing: choiceField('linspace', TIMESTEP_SPACINGS),
  steps_offset: integerField(0, { min: 0 }),
};

/**
 * Linear multistep sampling (k-diffusion `sample_lms`, order 4), diffusers' `LMSDiscreteScheduler`, id `lms`:
 * each step integrates the Lagrange polynomial through the last four ODE derivatives over the next sigma
 * interval.
 */
export class LMSDiscreteScheduler implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 1;
  readonly #config;
  readonly #training: TrainingSigmas;
  readonly #derivatives = new TensorHistory(LMS_ORDER);
  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  #stepIndex: number | null = null;
  #beginIndex: number | null = null;
  #scaled: Float32Array | undefined;

  /** @param config - diffusers scheduler config keys; see the class fields for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    this.id = id;
    this.#config = readConfig('LMSDiscreteScheduler', FIELDS, config);
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
      // LMS has no sigma_min / sigma_max keys: Karras levels span the schedule's own ends.
      karras: c.use_karras_sigmas ? { sigmaMin: null, sigmaMax: null } : null,
    });
    this.#timesteps = timesteps.map(f32);
    this.#sigmas = withFinalSigma(sigmas, 0);
    this.#derivatives.clear();
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
    const denoise = denoiseFor(this.#config.prediction_type);
    const level = noiseLevel(sigma);
    const derivative = this.#derivatives.push(sample.length);
    // diffusers computes `min(step + 1, 4)` coefficients but pairs them with the derivatives it has, which
    // are fewer when the loop started mid-schedule (img2img).
    const order = Math.min(index + 1, LMS_ORDER);
    const terms = Math.min(order, this.#derivatives.count);
    const [c0 = 0, c1 = 0, c2 = 0, c3 = 0] = Array.from({ length: terms }, (_, k) =>
      f32(lmsCoefficient(this.#sigmas, order, index, k)),
    );
    // Older derivatives; the newest stands in for absent ones, which the term count never reads.
    const older = (age: number): Float32Array => (age < terms ? this.#derivatives.at(age) : derivative);
    const [d1, d2, d3] = [older(1), older(2), older(3)];
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const d0 = f32(f32(x - denoise(level, x, modelOutput[i] ?? 0)) / sigma);
      derivative[i] = d0;
      // Σ c_k·d_k term by term in float32, as torch adds the products.
      let sum = f32(c0 * d0);
      if (terms > 1) sum = f32(sum + f32(c1 * (d1[i] ?? 0)));
      if (terms > 2) sum = f32(sum + f32(c2 * (d2[i] ?? 0)));
      if (terms > 3) sum = f32(sum + f32(c3 * (d3[i] ?? 0)));
      sample[i] = x + sum;
    }
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseBySigma(original, noise, sigmaAt(this.#sigmas, index));
  }
}

/** Nodes of two-point Gauss–Legendre quadrature on [−1, 1]: exact for the cubic Lagrange bases of order 4. */
const GAUSS_NODE = 1 / Math.sqrt(3);

/**
 * diffusers' `get_lms_coefficient`: the integral over [σ_t, σ_{t+1}] of the Lagrange basis polynomial of the
 * derivative `current` steps back, through the `order` most recent sigmas. diffusers integrates with
 * `scipy.integrate.quad`; the integrand is a polynomial of degree < 4, which two Gauss points integrate
 * exactly (in float64).
 */
export function lmsCoefficient(sigmas: Float64Array, order: number, t: number, current: number): number {
  const at = (i: number): number => sigmas[i] ?? NaN;
  const basis = (tau: number): number => {
    let product = 1;
    for (let k = 0; k < order; k++) {
      if (k !== current) product *= (tau - at(t - k)) / (at(t - current) - at(t - k));
    }
    return product;
  };
  const mid = (at(t) + at(t + 1)) / 2;
  const half = (at(t + 1) - at(t)) / 2;
  return half * (basis(mid - half * GAUSS_NODE) + basis(mid + half * GAUSS_NODE));
}
