import { choiceField, readConfig, type ConfigOf } from './config.js';
import { betaFields, PREDICTION_TYPES, spacingFields } from './discrete.js';
import { TensorHistory } from './history.js';
import { type SigmaLevels, SigmaScheduler } from './sigma-scheduler.js';
import { denoiseFor, karrasFields, noiseLevel, sigmaAt } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const f32 = Math.fround;

/** How many past derivatives the linear multistep formula combines (diffusers' `step(order=4)`). */
const LMS_ORDER = 4;

/**
 * The config keys of diffusers' `LMSDiscreteScheduler` and their defaults: `beta_start` 0.0001, `beta_end`
 * 0.02, `beta_schedule` linear, `use_karras_sigmas` false, `prediction_type` epsilon, `timestep_spacing`
 * linspace, `steps_offset` 0. LMS has no `sigma_min` / `sigma_max` keys: Karras levels span the schedule's own
 * ends.
 */
const FIELDS = {
  ...betaFields({ beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }),
  ...karrasFields(),
  prediction_type: choiceField('epsilon', PREDICTION_TYPES),
  ...spacingFields('linspace'),
};

/**
 * Linear multistep sampling (k-diffusion `sample_lms`, order 4), diffusers' `LMSDiscreteScheduler`, id `lms`:
 * each step integrates the Lagrange polynomial through the last four ODE derivatives over the next sigma
 * interval.
 */
export class LMSDiscreteScheduler extends SigmaScheduler<ConfigOf<typeof FIELDS>> {
  override readonly order = 1;
  readonly #derivatives = new TensorHistory(LMS_ORDER);

  /** @param config - diffusers scheduler config keys; see the class fields for those read and their defaults. */
  constructor(config: SchedulerConfig, id: SchedulerId) {
    super(id, readConfig('LMSDiscreteScheduler', FIELDS, config));
    this.setTimesteps(this.config.num_train_timesteps);
  }

  protected override layout(levels: SigmaLevels): SigmaLevels {
    this.#derivatives.clear();
    return levels;
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    const sigmas = this.sigmas;
    const sigma = sigmaAt(sigmas, index);
    const denoise = denoiseFor(this.config.prediction_type);
    const level = noiseLevel(sigma);
    const derivative = this.#derivatives.push(sample.length);
    // diffusers computes `min(step + 1, 4)` coefficients but pairs them with the derivatives it has, which
    // are fewer when the loop started mid-schedule (img2img).
    const order = Math.min(index + 1, LMS_ORDER);
    const terms = Math.min(order, this.#derivatives.count);
    const [c0 = 0, c1 = 0, c2 = 0, c3 = 0] = Array.from({ length: terms }, (_, k) =>
      f32(lmsCoefficient(sigmas, order, index, k)),
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
