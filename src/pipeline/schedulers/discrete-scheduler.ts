import type { RandomGenerator } from '../rng/types.js';
import { addNoiseAtTimestep, type BetaConfig, checkIndex, trainingAlphasCumprod } from './discrete.js';
import type { Scheduler, SchedulerId } from './types.js';

/**
 * What the samplers that work on ᾱ at the integer training timesteps have in common (DDIM, DDPM, PNDM, LCM):
 * one model call per timestep, no sigmas, an unscaled model input and `add_noise`
 * `√ᾱ_t·x + √(1 − ᾱ_t)·noise`. Each sampler implements {@link schedule} and `step`.
 */
export abstract class DiscreteScheduler<C extends BetaConfig> implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly sigmas = new Float64Array(0);
  protected readonly config: C;
  /** ᾱ at each training timestep (float32). */
  protected readonly alphasCumprod: Float32Array;
  #timesteps: Float64Array = new Float64Array(0);

  protected constructor(id: SchedulerId, config: C) {
    this.id = id;
    this.config = config;
    this.alphasCumprod = trainingAlphasCumprod(config);
  }

  get timesteps(): Float64Array {
    return this.#timesteps;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.#timesteps = this.schedule(numInferenceSteps);
  }

  /**
   * By default the sampler derives everything from the timestep it is given (diffusers has no
   * `set_begin_index` for DDIM, DDPM and PNDM): the index is only checked.
   */
  setBeginIndex(index: number): void {
    checkIndex(index, this.#timesteps.length);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  abstract step(modelOutput: Float32Array, timestep: number, sample: Float32Array, generator: RandomGenerator): void;

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseAtTimestep(this.alphasCumprod, original, noise, timestep);
  }

  /**
   * The timesteps of `steps` steps for `setTimesteps`, after checking the step count; also where a sampler
   * resets the step state of its own.
   */
  protected abstract schedule(steps: number): Float64Array;
}
