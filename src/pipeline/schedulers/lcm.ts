import type { RandomGenerator } from '../rng/types.js';
import { booleanField, choiceField, fixedField, integerField, numberField, readConfig, type ConfigOf } from './config.js';
import { PREDICTION_TYPES, alphaProdAt, betaFields, checkIndex, checkSameLength, dataPrediction } from './discrete.js';
import { DiscreteScheduler } from './discrete-scheduler.js';
import { startIndex } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...betaFields({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' }),
  original_inference_steps: integerField(50, { min: 1 }),
  clip_sample: booleanField(false),
  clip_sample_range: numberField(1, { min: 0 }),
  prediction_type: choiceField('epsilon', PREDICTION_TYPES),
  thresholding: fixedField(false),
  timestep_scaling: numberField(10, { min: 0 }),
  rescale_betas_zero_snr: fixedField(false),
} as const;

/** σ_data of the consistency-model boundary condition. */
const SIGMA_DATA = 0.5;

/**
 * Latent consistency model sampling (Luo et al. 2023), diffusers' `LCMScheduler`: each step maps the sample to
 * its clean estimate through the consistency boundary condition, then noises it again to the next timestep
 * (with fresh noise, except after the last step). Made for LCM-distilled UNets and 2–8 steps.
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.00085, `beta_end` 0.012,
 * `beta_schedule` "scaled_linear", `original_inference_steps` 50, `clip_sample` false, `clip_sample_range` 1,
 * `prediction_type` "epsilon", `timestep_scaling` 10. The timesteps always come from the distillation schedule
 * (`timestep_spacing`, `steps_offset` and `set_alpha_to_one` have no effect, as in diffusers).
 */
export class LCMScheduler extends DiscreteScheduler<ConfigOf<typeof FIELDS>> {
  /** Position in `timesteps` of the step being taken; null until the first step. */
  #stepIndex: number | null = null;
  /** Where img2img starts the loop (`setBeginIndex`), or null. */
  #beginIndex: number | null = null;

  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('LCMScheduler', FIELDS, config));
  }

  /**
   * Picks `steps` evenly spaced timesteps (by index) of the distillation schedule, which holds the
   * `original_inference_steps` timesteps k·(T / original_inference_steps) − 1, k = 1….
   */
  protected override schedule(steps: number): Float64Array {
    const { num_train_timesteps: trainSteps, original_inference_steps: originalSteps } = this.config;
    if (originalSteps > trainSteps) {
      throw new RangeError(
        `Expected \`original_inference_steps\` of LCMScheduler to be at most ${trainSteps}, got ${originalSteps}`,
      );
    }
    if (!Number.isInteger(steps) || steps < 1 || steps > originalSteps) {
      throw new RangeError(
        `Expected \`numInferenceSteps\` to be an integer in 1–${originalSteps} (\`original_inference_steps\`), got ${steps}`,
      );
    }
    const stride = Math.floor(trainSteps / originalSteps);
    this.#stepIndex = null;
    this.#beginIndex = null;
    // Index i of np.floor(np.linspace(0, n, steps, endpoint=False)) into the descending distillation schedule.
    return Float64Array.from({ length: steps }, (_, i) => {
      const index = Math.floor(i * (originalSteps / steps));
      return (originalSteps - index) * stride - 1;
    });
  }

  override setBeginIndex(index: number): void {
    checkIndex(index, this.timesteps.length);
    this.#beginIndex = index;
  }

  override step(modelOutput: Float32Array, timestep: number, sample: Float32Array, generator: RandomGenerator): void {
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.timesteps, this.#beginIndex, timestep));
    const f = Math.fround;
    const next = this.timesteps[index + 1] ?? timestep;
    const alphaProd = alphaProdAt(this.alphasCumprod, timestep);
    const alphaProdNext = alphaProdAt(this.alphasCumprod, next);
    const { prediction_type: type, clip_sample: clip, clip_sample_range: range } = this.config;
    const toData = dataPrediction(type, f(Math.sqrt(alphaProd)), f(Math.sqrt(f(1 - alphaProd))));
    const { skip, out } = this.#boundaryScalings(timestep);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i] ?? 0;
      const data = toData.sample * x + toData.output * (modelOutput[i] ?? 0);
      sample[i] = out * (clip ? Math.min(Math.max(data, -range), range) : data) + skip * x;
    }
    if (index !== this.timesteps.length - 1) {
      // Multistep consistency sampling: noise the estimate again to the next timestep.
      const noise = generator.randn([sample.length]);
      const signal = f(Math.sqrt(alphaProdNext));
      const noiseScale = f(Math.sqrt(f(1 - alphaProdNext)));
      for (let i = 0; i < sample.length; i++) {
        sample[i] = f(signal * (sample[i] ?? 0)) + f(noiseScale * (noise[i] ?? 0));
      }
    }
    this.#stepIndex = index + 1;
  }

  /**
   * c_skip and c_out of the consistency boundary condition at `timestep` (scaled by `timestep_scaling`),
   * float32 like torch: c_skip = σ_d² / (t² + σ_d²), c_out = t / √(t² + σ_d²).
   */
  #boundaryScalings(timestep: number): { skip: number; out: number } {
    const f = Math.fround;
    const scaled = f(timestep * this.config.timestep_scaling);
    const denominator = f(f(scaled * scaled) + SIGMA_DATA ** 2);
    return { skip: f(SIGMA_DATA ** 2 / denominator), out: f(scaled / f(Math.sqrt(denominator))) };
  }
}
