import type { RandomGenerator } from '../rng/types.js';
import { booleanField, choiceField, readConfig, type ConfigOf } from './config.js';
import { alphaProdAt, betaFields, checkSameLength, configTimesteps, spacingFields } from './discrete.js';
import { DiscreteScheduler } from './discrete-scheduler.js';
import { TensorHistory } from './history.js';
import { buffer } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...betaFields(),
  /** Must be true: the Runge-Kutta warm-up of the original PNDM is not implemented (SD configs skip it). */
  skip_prk_steps: booleanField(false),
  set_alpha_to_one: booleanField(false),
  prediction_type: choiceField('epsilon', ['epsilon', 'v_prediction']),
  ...spacingFields('leading'),
} as const;

/** How many past noise predictions the fourth-order linear multistep formula combines. */
const PLMS_ORDER = 4;

/**
 * Pseudo linear multistep sampling (PLMS, Liu et al. 2022 "Pseudo Numerical Methods for Diffusion Models"),
 * diffusers' `PNDMScheduler` with `skip_prk_steps`: the default sampler of Stable Diffusion 1.x.
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.0001, `beta_end` 0.02,
 * `beta_schedule` "linear", `skip_prk_steps` false (must be set to true), `set_alpha_to_one` false,
 * `prediction_type` "epsilon", `timestep_spacing` "leading", `steps_offset` 0.
 *
 * The first model call is evaluated twice: `timesteps` repeats the second timestep
 * (`[801, 601, 601, 401, …]` for 5 steps), so there are `steps + 1` model calls.
 */
export class PNDMScheduler extends DiscreteScheduler<ConfigOf<typeof FIELDS>> {
  /** ᾱ used after the last step: 1, or ᾱ at timestep 0. */
  readonly #finalAlphaCumprod: number;
  /** Training timesteps between two inference steps (T // steps). */
  #stride = 0;
  /** Model calls since `setTimesteps` (diffusers' `counter`). */
  #counter = 0;
  /** The last noise predictions (diffusers' `ets`). */
  readonly #ets = new TensorHistory(PLMS_ORDER);
  /** The sample at the first timestep, kept for the repeated second evaluation. */
  #firstSample: Float32Array = new Float32Array(0);
  /** The combined noise prediction of the current step. */
  #combined: Float32Array = new Float32Array(0);

  constructor(config: SchedulerConfig, id: SchedulerId) {
    const read = readConfig('PNDMScheduler', FIELDS, config);
    if (!read.skip_prk_steps) {
      throw new Error(
        'Expected `skip_prk_steps` of PNDMScheduler to be true: the Runge-Kutta warm-up steps are not supported',
      );
    }
    super(id, read);
    this.#finalAlphaCumprod = read.set_alpha_to_one ? 1 : alphaProdAt(this.alphasCumprod, 0);
  }

  protected override schedule(steps: number): Float64Array {
    const descending = configTimesteps(this.config, steps);
    this.#stride = Math.floor(this.config.num_train_timesteps / steps);
    this.#counter = 0;
    this.#ets.clear();
    // PLMS order: the first timestep, then the second one twice, then the rest.
    const second = descending.length > 1 ? descending.subarray(1, 2) : new Float64Array(0);
    return Float64Array.of(...descending.subarray(0, 1), ...second, ...descending.subarray(1));
  }

  override step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _generator: RandomGenerator): void {
    if (this.#stride === 0) throw new Error('PNDMScheduler.step called before setTimesteps');
    checkSameLength(modelOutput, sample);
    let from = timestep;
    let to = timestep - this.#stride;
    let start = sample;
    if (this.#counter === 1) {
      // The repeated evaluation: redo the first step from the first sample with the averaged prediction.
      from = timestep + this.#stride;
      to = timestep;
      start = this.#firstSample;
      this.#average(modelOutput, this.#ets.at(0));
    } else {
      this.#ets.push(modelOutput.length).set(modelOutput);
      if (this.#counter === 0) (this.#firstSample = buffer(this.#firstSample, sample.length)).set(sample);
      this.#combine();
    }
    this.#previousSample(sample, start, from, to);
    this.#counter++;
  }

  /** `#combined` = (ε + ε_previous) / 2. */
  #average(modelOutput: Float32Array, previous: Float32Array): void {
    const out = (this.#combined = buffer(this.#combined, modelOutput.length));
    for (let i = 0; i < out.length; i++) out[i] = ((modelOutput[i] ?? 0) + (previous[i] ?? 0)) / 2;
  }

  /** `#combined` = the Adams–Bashforth combination of the held noise predictions (order = how many). */
  #combine(): void {
    const e0 = this.#ets.at(0);
    const out = (this.#combined = buffer(this.#combined, e0.length));
    switch (this.#ets.count) {
      case 1:
        out.set(e0);
        return;
      case 2: {
        const e1 = this.#ets.at(1);
        for (let i = 0; i < out.length; i++) out[i] = (3 * (e0[i] ?? 0) - (e1[i] ?? 0)) / 2;
        return;
      }
      case 3: {
        const [e1, e2] = [this.#ets.at(1), this.#ets.at(2)];
        for (let i = 0; i < out.length; i++) out[i] = (23 * (e0[i] ?? 0) - 16 * (e1[i] ?? 0) + 5 * (e2[i] ?? 0)) / 12;
        return;
      }
      default: {
        const [e1, e2, e3] = [this.#ets.at(1), this.#ets.at(2), this.#ets.at(3)];
        for (let i = 0; i < out.length; i++) {
          out[i] = (55 * (e0[i] ?? 0) - 59 * (e1[i] ?? 0) + 37 * (e2[i] ?? 0) - 9 * (e3[i] ?? 0)) / 24;
        }
      }
    }
  }

  /**
   * Writes x_{to} into `out` from `sample` = x_{from} and the combined prediction: formula (9) of the PNDM paper
   * (diffusers' `_get_prev_sample`), coefficients in float32 like torch.
   */
  #previousSample(out: Float32Array, sample: Float32Array, from: number, to: number): void {
    const f = Math.fround;
    const alphaProd = alphaProdAt(this.alphasCumprod, from);
    const alphaProdPrev = to >= 0 ? alphaProdAt(this.alphasCumprod, to) : this.#finalAlphaCumprod;
    const betaProd = f(1 - alphaProd);
    const betaProdPrev = f(1 - alphaProdPrev);
    const eps = this.#combined;
    if (this.config.prediction_type === 'v_prediction') {
      const [a, b] = [f(Math.sqrt(alphaProd)), f(Math.sqrt(betaProd))];
      for (let i = 0; i < eps.length; i++) eps[i] = a * (eps[i] ?? 0) + b * (sample[i] ?? 0);
    }
    const sampleCoeff = f(Math.sqrt(f(alphaProdPrev / alphaProd)));
    const denominator = f(
      f(alphaProd * f(Math.sqrt(betaProdPrev))) + f(Math.sqrt(f(f(alphaProd * betaProd) * alphaProdPrev))),
    );
    const outputCoeff = f(alphaProdPrev - alphaProd);
    for (let i = 0; i < out.length; i++) {
      out[i] = sampleCoeff * (sample[i] ?? 0) - (outputCoeff * (eps[i] ?? 0)) / denominator;
    }
  }
}
