import type { RandomGenerator } from '../rng/types.js';
import {
  type BetaConfig,
  checkIndex,
  checkSameLength,
  checkStepCount,
  roundHalfEven,
  type TimestepSpacing,
  trainingAlphasCumprod,
  ZERO_SNR_FLOOR,
} from './discrete.js';
import { withFinalSigma } from './schedule.js';
import {
  addNoiseBySigma,
  buffer,
  initNoiseSigmaOf,
  noiseIndex,
  scaleBySigma,
  sigmaAt,
  sigmaSchedule,
  startIndex,
  type TrainingSigmas,
  trainingSigmasOf,
} from './sigmas.js';
import type { Scheduler, SchedulerId } from './types.js';

const f32 = Math.fround;

/**
 * The config keys a {@link SigmaScheduler} reads itself. The optional ones are those only some classes accept;
 * a class without them gets their diffusers behaviour: no Karras option, Karras levels spanning the schedule's
 * own ends, and a final sigma of 0.
 */
export interface SigmaSchedulerConfig extends BetaConfig {
  readonly timestep_spacing: TimestepSpacing;
  readonly steps_offset: number;
  readonly use_karras_sigmas?: boolean;
  readonly sigma_min?: number | null;
  readonly sigma_max?: number | null;
  readonly final_sigmas_type?: 'zero' | 'sigma_min';
}

/** Timesteps and noise levels of a schedule (float32 values), the sigmas with the final one. */
export interface SigmaLevels {
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
}

/** What sets the sigma samplers apart in `setTimesteps`. */
export interface SigmaSchedulerOptions {
  /** Round the timesteps of Karras levels to integers, as diffusers' DPM2 samplers do (default false). */
  readonly roundKarrasTimesteps?: boolean;
}

/**
 * What the k-diffusion samplers over the discrete sigma schedule σ_t = √((1 − ᾱ_t) / ᾱ_t) have in common
 * (Euler, Euler ancestral, LMS, Heun, DPM2, DPM2 ancestral): the schedule of `setTimesteps`, the step counter
 * with its begin index, the input scaling `x / √(σ² + 1)` and `add_noise` `x + σ·noise`. Each sampler
 * implements {@link advance} (its update) and, when it evaluates the model more than once per level,
 * {@link layout} and {@link inputSigma}.
 *
 * A subclass constructor calls `setTimesteps(config.num_train_timesteps)` after `super`, as diffusers' do.
 */
export abstract class SigmaScheduler<C extends SigmaSchedulerConfig> implements Scheduler {
  readonly id: SchedulerId;
  abstract readonly order: number;
  protected readonly config: C;
  protected readonly training: TrainingSigmas;
  readonly #roundKarrasTimesteps: boolean;
  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  #stepIndex: number | null = null;
  #beginIndex: number | null = null;
  #scaled: Float32Array | undefined;

  protected constructor(id: SchedulerId, config: C, options: SigmaSchedulerOptions = {}) {
    this.id = id;
    this.config = config;
    this.training = trainingSigmasOf(trainingAlphasCumprod(config, ZERO_SNR_FLOOR));
    this.#roundKarrasTimesteps = options.roundKarrasTimesteps ?? false;
  }

  get timesteps(): Float64Array {
    return this.#timesteps;
  }

  /** The noise level of each model call (see {@link layout}), then the final one. */
  get sigmas(): Float64Array {
    return this.#sigmas;
  }

  get initNoiseSigma(): number {
    return initNoiseSigmaOf(this.#sigmas, this.config.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    const { timesteps, sigmas } = this.layout(this.#levels(numInferenceSteps));
    this.#timesteps = timesteps;
    this.#sigmas = sigmas;
    this.#stepIndex = null;
    this.#beginIndex = null;
  }

  setBeginIndex(index: number): void {
    checkIndex(index, this.#timesteps.length);
    this.#beginIndex = index;
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const index = this.#startAt(timestep);
    this.#scaled = buffer(this.#scaled, sample.length);
    return scaleBySigma(sample, this.inputSigma(index), this.#scaled);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, generator: RandomGenerator): void {
    checkSameLength(modelOutput, sample);
    const index = this.#startAt(timestep);
    this.advance(index, modelOutput, sample, generator);
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseBySigma(original, noise, sigmaAt(this.#sigmas, index));
  }

  /** The sampler's update of `sample` in place at model call `index` (the step counter then moves on by one). */
  protected abstract advance(
    index: number,
    modelOutput: Float32Array,
    sample: Float32Array,
    generator: RandomGenerator,
  ): void;

  /**
   * The per-call `timesteps` and `sigmas` of the levels of `setTimesteps`, which is also where a sampler
   * resets the step state of its own. The default is one call per level.
   */
  protected layout(levels: SigmaLevels): SigmaLevels {
    return levels;
  }

  /** The noise level `scaleModelInput` divides by at model call `index`: by default its sigma. */
  protected inputSigma(index: number): number {
    return sigmaAt(this.#sigmas, index);
  }

  /** The step counter, started at the first call after `setTimesteps` (diffusers' `_init_step_index`). */
  #startAt(timestep: number): number {
    return (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
  }

  /** The `steps` levels of the config's spacing (Karras ones when asked) and the final sigma. */
  #levels(steps: number): SigmaLevels {
    const c = this.config;
    checkStepCount(steps, c.num_train_timesteps);
    const karras = c.use_karras_sigmas === true;
    const { timesteps, sigmas } = sigmaSchedule(this.training, steps, {
      spacing: c.timestep_spacing,
      numTrainTimesteps: c.num_train_timesteps,
      stepsOffset: c.steps_offset,
      karras: karras ? { sigmaMin: c.sigma_min ?? null, sigmaMax: c.sigma_max ?? null } : null,
    });
    const last = c.final_sigmas_type === 'sigma_min' ? (this.training.sigmas[0] ?? NaN) : 0;
    const levelTimesteps = karras && this.#roundKarrasTimesteps ? timesteps.map(roundHalfEven) : timesteps;
    return { timesteps: levelTimesteps.map(f32), sigmas: withFinalSigma(sigmas, last) };
  }
}
