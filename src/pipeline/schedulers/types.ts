import type { RandomGenerator } from '../rng/types.js';

/** The sampler ids with a diffusers scheduler class; each names one class and its variant keys. */
const DIFFUSERS_SAMPLERS = [
  'pndm',
  'ddim',
  'ddim_trailing',
  'ddim_v',
  'euler',
  'euler_karras',
  'euler_v',
  'euler_a',
  'lms',
  'heun',
  'dpm2',
  'dpm2_a',
  'dpmpp_2m',
  'dpmpp_2m_karras',
  'dpmpp_2s',
  'unipc',
  'deis',
  'ddpm',
  'lcm',
] as const;

/**
 * The samplers that exist only as A1111 runs them (k-diffusion's or A1111's own code, no diffusers class): they
 * need `compat` a1111 and a request A1111 sampling runs (txt2img or img2img without the hires fix).
 */
export const A1111_ONLY_SAMPLERS = [
  'dpmpp_2s_a',
  'dpm_fast',
  'dpm_adaptive',
  'restart',
  'ddim_cfgpp',
  'dpmpp_sde',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_heun',
  'dpmpp_3m_sde',
] as const;

/** The sampler ids dreamcord supports. */
export const SCHEDULER_IDS = [...DIFFUSERS_SAMPLERS, ...A1111_ONLY_SAMPLERS] as const;

export type SchedulerId = (typeof SCHEDULER_IDS)[number];

/** A sampler with a diffusers scheduler class. */
export type DiffusersSamplerId = (typeof DIFFUSERS_SAMPLERS)[number];

/** Whether diffusers' schedulers can run `id` (every sampler but {@link A1111_ONLY_SAMPLERS}). */
export function isDiffusersSampler(id: SchedulerId): id is DiffusersSamplerId {
  return !(A1111_ONLY_SAMPLERS as readonly SchedulerId[]).includes(id);
}

/**
 * A scheduler configuration as diffusers records it in `scheduler/scheduler_config.json`: snake_case keys,
 * JSON values. Each scheduler reads the keys its class accepts and takes the class default for the rest.
 */
export type SchedulerConfig = Readonly<Record<string, unknown>>;

/**
 * The contract every sampler honours, so the denoising loop never branches on which one it has
 * (diffusers' `SchedulerMixin`). Instances are stateful: create one per job.
 *
 * Loop: `setTimesteps(n)`, then for each `t` of `timesteps`:
 * `input = scaleModelInput(sample, t)` → model → `step(modelOutput, t, sample, generator)` (updates `sample`).
 */
export interface Scheduler {
  readonly id: SchedulerId;
  /** Model evaluations per "user step" (2 for Heun, DPM2): `timesteps` holds every evaluation. */
  readonly order: number;
  /** Standard deviation of the initial noise: multiply the first `randn` latents by it. */
  readonly initNoiseSigma: number;
  /** The timesteps to evaluate, one per model call, after `setTimesteps`. */
  readonly timesteps: Float64Array;
  /** The noise levels of sigma-based samplers after `setTimesteps` (with the trailing 0); empty for DDPM-type ones. */
  readonly sigmas: Float64Array;
  /** Computes `timesteps` (and `sigmas`) for `numInferenceSteps` denoising steps and resets all step state. */
  setTimesteps(numInferenceSteps: number): void;
  /**
   * Starts the loop at model call `index` of `timesteps` instead of 0 (img2img / inpaint with strength < 1),
   * diffusers' `set_begin_index`. Call after `setTimesteps`.
   */
  setBeginIndex(index: number): void;
  /**
   * Returns the UNet input for `sample` at `timestep`. It may be `sample` itself or a buffer the scheduler
   * owns and overwrites on the next call: read it, never keep or modify it.
   */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  /**
   * Advances `sample` in place by one model call's worth, given the model's raw output (noise or v) for it.
   * Stochastic samplers draw their noise from `generator` with `randn([sample.length])`.
   */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, generator: RandomGenerator): void;
  /** `original` noised to the level of `timestep` (img2img, inpaint); returns a new array. */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;
}
