import { choiceField, readConfig, type ConfigOf } from './config.js';
import { betaFields, spacingFields } from './discrete.js';
import { sigmaToTF32 } from './schedule.js';
import { type SigmaLevels, SigmaScheduler } from './sigma-scheduler.js';
import { buffer, denoiseFor, dpm2Layout, karrasFields, logMidpoint, noiseLevel, sigmaAt } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const f32 = Math.fround;

/**
 * The config keys of diffusers' `KDPM2DiscreteScheduler` and `KDPM2AncestralDiscreteScheduler` and their
 * defaults: `beta_start` 0.00085, `beta_end` 0.012, `beta_schedule` linear, `use_karras_sigmas` false,
 * `prediction_type` epsilon (or v_prediction; diffusers has no `sample`), `timestep_spacing` linspace,
 * `steps_offset` 0. With Karras sigmas, the timesteps of the levels are rounded to integers, like diffusers.
 */
export const KDPM2_FIELDS = {
  ...betaFields({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'linear' }),
  ...karrasFields(),
  prediction_type: choiceField('epsilon', ['epsilon', 'v_prediction']),
  ...spacingFields('linspace'),
};

/**
 * DPM-Solver-2 as k-diffusion's `sample_dpm_2` (Karras et al. 2022): each step evaluates the model at the
 * level and at the log-space midpoint towards the next one, then takes the whole step with the midpoint's
 * derivative. diffusers' `KDPM2DiscreteScheduler`, id `dpm2`; order 2, so `timesteps` lists every model call.
 */
export class KDPM2DiscreteScheduler extends SigmaScheduler<ConfigOf<typeof KDPM2_FIELDS>> {
  override readonly order = 2;
  /** Per call, the midpoint level between the previous level and this call's one. */
  #midpoints: Float64Array = new Float64Array(0);
  /** The sample the midpoint evaluation started from; null = the next call is a first-order one. */
  #start: Float32Array | null = null;
  #startBuffer: Float32Array | undefined;

  /** @param config - diffusers scheduler config keys; see {@link KDPM2_FIELDS} for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('KDPM2DiscreteScheduler', KDPM2_FIELDS, config), { roundKarrasTimesteps: true });
    this.setTimesteps(this.config.num_train_timesteps);
  }

  protected override layout({ timesteps, sigmas }: SigmaLevels): SigmaLevels {
    // torch's `roll(1)` pairs the first level with the final 0, giving NaN there; that entry is never used.
    const midpoints = sigmas.map((s, i) => logMidpoint(s, sigmas.at(i - 1) ?? NaN));
    const midTimesteps = midpoints.map((s) => sigmaToTF32(s, this.training.logSigmas));
    this.#midpoints = dpm2Layout(midpoints);
    this.#start = null;
    // [t0, mid1, t1, mid2, t2, …, mid(n−1), t(n−1)]
    return { timesteps: dpm2Calls(timesteps, midTimesteps.subarray(1)), sigmas: dpm2Layout(sigmas) };
  }

  protected override inputSigma(index: number): number {
    return this.#start === null ? sigmaAt(this.sigmas, index) : sigmaAt(this.#midpoints, index);
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    const start = this.#start;
    if (start === null) {
      // First order: Euler from the level to the midpoint, remembering where it started.
      const sigma = sigmaAt(this.sigmas, index);
      const saved = (this.#startBuffer = buffer(this.#startBuffer, sample.length));
      saved.set(sample);
      const midpoint = sigmaAt(this.#midpoints, index + 1);
      eulerStep(sample, saved, modelOutput, this.config.prediction_type, sigma, sigma, midpoint);
      this.#start = saved;
    } else {
      // Second order: the whole step from the start with the derivative at the midpoint.
      const sigma = sigmaAt(this.sigmas, index - 1);
      const midpoint = sigmaAt(this.#midpoints, index);
      const next = sigmaAt(this.sigmas, index);
      eulerStep(sample, start, modelOutput, this.config.prediction_type, midpoint, sigma, next);
      this.#start = null;
    }
  }
}

/**
 * The timesteps of the model calls of both DPM2 samplers: the first level's, then for each later level the
 * midpoint evaluation before it (`midTimesteps[i − 1]` before level i) and the level itself.
 */
export function dpm2Calls(levelTimesteps: Float64Array, midTimesteps: Float64Array): Float64Array {
  const calls = new Float64Array(2 * levelTimesteps.length - 1);
  calls[0] = levelTimesteps[0] ?? NaN;
  for (let i = 1; i < levelTimesteps.length; i++) {
    calls[2 * i - 1] = midTimesteps[i - 1] ?? NaN;
    calls[2 * i] = levelTimesteps[i] ?? NaN;
  }
  return calls;
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
