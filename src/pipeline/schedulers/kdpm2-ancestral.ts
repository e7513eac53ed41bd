import type { RandomGenerator } from '../rng/types.js';
import { readConfig, type ConfigOf } from './config.js';
import { dpm2Calls, eulerStep, KDPM2_FIELDS } from './kdpm2.js';
import { sigmaToTF32 } from './schedule.js';
import { type SigmaLevels, SigmaScheduler } from './sigma-scheduler.js';
import { ancestralSplit, buffer, dpm2Layout, logMidpoint, sigmaAt } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const f32 = Math.fround;

/**
 * Ancestral DPM-Solver-2 as k-diffusion's `sample_dpm_2_ancestral` (η = 1): like DPM2, but each step aims at
 * σ_down (through the log-space midpoint towards it) and then adds fresh noise of σ_up, so the result depends on
 * the generator. diffusers' `KDPM2AncestralDiscreteScheduler`, id `dpm2_a`; order 2.
 */
export class KDPM2AncestralDiscreteScheduler extends SigmaScheduler<ConfigOf<typeof KDPM2_FIELDS>> {
  override readonly order = 2;
  /** Per call (besides the level): the midpoint towards σ_down, and the ancestral split of the step from the level. */
  #midpoints: Float64Array = new Float64Array(0);
  #ups: Float64Array = new Float64Array(0);
  #downs: Float64Array = new Float64Array(0);
  /** The sample the midpoint evaluation started from; null = the next call is a first-order one. */
  #start: Float32Array | null = null;
  #startBuffer: Float32Array | undefined;

  /** @param config - diffusers scheduler config keys; see `KDPM2_FIELDS` for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('KDPM2AncestralDiscreteScheduler', KDPM2_FIELDS, config), { roundKarrasTimesteps: true });
    this.setTimesteps(this.config.num_train_timesteps);
  }

  protected override layout({ timesteps, sigmas }: SigmaLevels): SigmaLevels {
    const n = sigmas.length;
    const splits = Array.from(sigmas, (s, i) => ancestralSplit(s, sigmas[i + 1] ?? 0));
    // diffusers pins the last σ_down to 0 and the last two midpoints to 0 (their logs are −∞ or NaN).
    const downs = Float64Array.from(splits, ({ down }, i) => (i === n - 1 ? 0 : down));
    const ups = Float64Array.from(splits, ({ up }) => up);
    const midpoints = sigmas.map((s, i) => (i >= n - 2 ? 0 : logMidpoint(s, downs[i] ?? NaN)));
    const midTimesteps = midpoints.map((s) => sigmaToTF32(s, this.training.logSigmas));
    this.#midpoints = dpm2Layout(midpoints);
    this.#ups = dpm2Layout(ups);
    this.#downs = dpm2Layout(downs);
    this.#start = null;
    // [t0, mid0, t1, mid1, t2, …, mid(n−3), t(n−2)] over the n − 1 levels before the final 0.
    return { timesteps: dpm2Calls(timesteps, midTimesteps), sigmas: dpm2Layout(sigmas) };
  }

  protected override inputSigma(index: number): number {
    return this.#start === null ? sigmaAt(this.sigmas, index) : sigmaAt(this.#midpoints, index - 1);
  }

  protected override advance(
    index: number,
    modelOutput: Float32Array,
    sample: Float32Array,
    generator: RandomGenerator,
  ): void {
    const type = this.config.prediction_type;
    const start = this.#start;
    if (start === null) {
      // First order: Euler from the level to the midpoint, remembering where it started.
      const sigma = sigmaAt(this.sigmas, index);
      const saved = (this.#startBuffer = buffer(this.#startBuffer, sample.length));
      saved.set(sample);
      eulerStep(sample, saved, modelOutput, type, sigma, sigma, sigmaAt(this.#midpoints, index));
      this.#start = saved;
    } else {
      // Second order: from the start to σ_down with the midpoint's derivative, then noise of σ_up.
      const sigma = sigmaAt(this.sigmas, index - 1);
      const midpoint = sigmaAt(this.#midpoints, index - 1);
      eulerStep(sample, start, modelOutput, type, midpoint, sigma, sigmaAt(this.#downs, index - 1));
      const up = sigmaAt(this.#ups, index - 1);
      const noise = generator.randn([sample.length]);
      for (let i = 0; i < sample.length; i++) sample[i] = (sample[i] ?? 0) + f32((noise[i] ?? 0) * up);
      this.#start = null;
    }
  }
}
