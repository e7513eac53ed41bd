import { booleanField, choiceField, numberField, readConfig, type ConfigOf } from './config.js';
import { betaFields, PREDICTION_TYPES, spacingFields } from './discrete.js';
import { type SigmaLevels, SigmaScheduler } from './sigma-scheduler.js';
import {
  buffer,
  type Denoise,
  denoiseFor,
  karrasFields,
  noiseLevel,
  type NoiseLevel,
  repeatInterior,
  sigmaAt,
} from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const f32 = Math.fround;

/**
 * The config keys of diffusers' `HeunDiscreteScheduler` and their defaults: `beta_start` 0.00085, `beta_end`
 * 0.012, `beta_schedule` linear, `prediction_type` epsilon, `use_karras_sigmas` false, `clip_sample` false,
 * `clip_sample_range` 1, `timestep_spacing` linspace, `steps_offset` 0.
 */
const FIELDS = {
  ...betaFields({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'linear' }),
  prediction_type: choiceField('epsilon', PREDICTION_TYPES),
  ...karrasFields(),
  clip_sample: booleanField(false),
  clip_sample_range: numberField(1, { min: 0 }),
  ...spacingFields('linspace'),
};

/**
 * Heun's second-order method on the probability-flow ODE (Karras et al. 2022, Algorithm 1), diffusers'
 * `HeunDiscreteScheduler`, id `heun`. Order 2: each noise level but the first is evaluated twice, an Euler
 * predictor then a trapezoidal corrector, so `timesteps` lists every model call.
 */
export class HeunDiscreteScheduler extends SigmaScheduler<ConfigOf<typeof FIELDS>> {
  override readonly order = 2;
  /** What the predictor leaves for the corrector; null = the next call predicts. */
  #pending: PredictorStep | null = null;
  #derivativeBuffer: Float32Array | undefined;
  #startBuffer: Float32Array | undefined;

  /** @param config - diffusers scheduler config keys; see the class fields for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('HeunDiscreteScheduler', FIELDS, config));
    this.setTimesteps(this.config.num_train_timesteps);
  }

  /** Every level after the first is visited twice (predictor, corrector); the final 0 once. */
  protected override layout({ timesteps, sigmas }: SigmaLevels): SigmaLevels {
    this.#pending = null;
    return {
      timesteps: repeatInterior(timesteps, 1, timesteps.length),
      sigmas: repeatInterior(sigmas, 1, sigmas.length - 1),
    };
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    if (this.#pending === null) this.#predict(modelOutput, sample, index);
    else this.#correct(modelOutput, sample, index, this.#pending);
  }

  /** Euler step from σ_i to σ_{i+1}, remembering its derivative, `dt` and starting sample. */
  #predict(modelOutput: Float32Array, sample: Float32Array, index: number): void {
    const sigma = sigmaAt(this.sigmas, index);
    const dt = f32(sigmaAt(this.sigmas, index + 1) - sigma);
    const denoise = denoiseFor(this.config.prediction_type);
    const level = noiseLevel(sigma);
    const range = this.#clipRange();
    const derivative = (this.#derivativeBuffer = buffer(this.#derivativeBuffer, sample.length));
    const start = (this.#startBuffer = buffer(this.#startBuffer, sample.length));
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const d = f32(f32(x - clippedDenoise(denoise, level, range, x, modelOutput[i] ?? 0)) / sigma);
      derivative[i] = d;
      start[i] = x;
      sample[i] = x + f32(d * dt);
    }
    this.#pending = { dt, derivative, start };
  }

  /** Redo the step from the remembered start with the mean of both derivatives (trapezoidal rule). */
  #correct(modelOutput: Float32Array, sample: Float32Array, index: number, predicted: PredictorStep): void {
    const sigmaNext = sigmaAt(this.sigmas, index);
    const denoise = denoiseFor(this.config.prediction_type);
    const level = noiseLevel(sigmaNext);
    const range = this.#clipRange();
    const { dt, derivative: first, start } = predicted;
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const d = f32(f32(x - clippedDenoise(denoise, level, range, x, modelOutput[i] ?? 0)) / sigmaNext);
      const mean = f32(f32((first[i] ?? 0) + d) / 2);
      sample[i] = (start[i] ?? 0) + f32(mean * dt);
    }
    this.#pending = null;
  }

  /** The bound of the x₀ estimate: `clip_sample_range` when `clip_sample` is set, else none. */
  #clipRange(): number {
    return this.config.clip_sample ? f32(this.config.clip_sample_range) : Infinity;
  }
}

/** The predictor's step size, derivative and starting sample, which the corrector reuses. */
interface PredictorStep {
  readonly dt: number;
  readonly derivative: Float32Array;
  readonly start: Float32Array;
}

/** The x₀ estimate of one element, clamped to ±`range`. */
function clippedDenoise(denoise: Denoise, level: NoiseLevel, range: number, x: number, m: number): number {
  return Math.min(Math.max(denoise(level, x, m), -range), range);
}
