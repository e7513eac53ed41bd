import { booleanField, choiceField, fixedField, numberField, readConfig, type ConfigOf } from './config.js';
import { spacingFields } from './discrete.js';
import {
  dpmSolverFirstOrder,
  dpmSolverStep,
  dpmSolverTypeFields,
  lambdaRatio,
  linearCombination,
  solverFields,
} from './multistep.js';
import { SolverScheduler } from './solver-scheduler.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...solverFields(),
  ...dpmSolverTypeFields(),
  lower_order_final: booleanField(true),
  euler_at_final: booleanField(false),
  use_lu_lambdas: fixedField(false),
  final_sigmas_type: choiceField('zero', ['zero', 'sigma_min']),
  lambda_min_clipped: numberField(-Infinity),
  variance_type: fixedField(null),
  ...spacingFields('linspace'),
  rescale_betas_zero_snr: fixedField(false),
} as const;

/**
 * DPM-Solver (Lu et al. 2022) and DPM-Solver++ multistep, diffusers' `DPMSolverMultistepScheduler`: an
 * exponential integrator of the diffusion ODE in log-SNR λ that reuses the previous model outputs, one model
 * call per step. With the defaults it is "DPM++ 2M" (with `use_karras_sigmas`, "DPM++ 2M Karras").
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.0001, `beta_end` 0.02,
 * `beta_schedule` "linear", `solver_order` 2, `prediction_type` "epsilon", `algorithm_type` "dpmsolver++",
 * `solver_type` "midpoint", `lower_order_final` true, `euler_at_final` false, `use_karras_sigmas` false,
 * `final_sigmas_type` "zero", `lambda_min_clipped` −∞, `timestep_spacing` "linspace", `steps_offset` 0.
 * The SDE variants are not supported.
 */
export class DPMSolverMultistepScheduler extends SolverScheduler<ConfigOf<typeof FIELDS>> {
  readonly #heun: boolean;

  constructor(config: SchedulerConfig, id: SchedulerId) {
    const read = readConfig('DPMSolverMultistepScheduler', FIELDS, config);
    super(id, read, {
      dataPrediction: read.algorithm_type !== 'dpmsolver',
      noisePredictionSetting: '`algorithm_type` "dpmsolver"',
      karrasTimesteps: 'round-unless-cosine',
    });
    this.#heun = read.solver_type === 'heun';
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    // Lower during the warm-up and, when asked, at the end.
    const { lower_order_final: lowerFinal, euler_at_final: eulerAtFinal, final_sigmas_type: finalSigmas } = this.config;
    const order = this.multistepOrderAt(index, lowerFinal, eulerAtFinal || finalSigmas === 'zero');
    this.pushOutput(index, modelOutput, sample);
    linearCombination(sample, this.#coefficients(order, index), [sample, ...this.newestOutputs(order)]);
  }

  /** Coefficients of [sample, m0, …] of the update of `order` from step `index` to the next. */
  #coefficients(order: number, index: number): number[] {
    if (order === 1) return dpmSolverFirstOrder(this.levels, index + 1, index, this.dataPrediction);
    return order === 2 ? this.#secondOrder(index) : this.#thirdOrder(index);
  }

  /**
   * Coefficients of [sample, m0, m1] of the second-order multistep update (diffusers'
   * `multistep_dpm_solver_second_order_update`): D0 = m0, D1 = (m0 − m1)/r0 with r0 = h_0/h.
   */
  #secondOrder(index: number): number[] {
    const step = dpmSolverStep(this.levels, index + 1, index, this.dataPrediction);
    const r0 = lambdaRatio(this.levels, index, index - 1, step.h);
    const d1 = (this.#heun ? step.first : step.midpoint) / r0;
    return [step.onSample, step.onD0 + d1, -d1];
  }

  /**
   * Coefficients of [sample, m0, m1, m2] of the third-order multistep update (diffusers'
   * `multistep_dpm_solver_third_order_update`).
   */
  #thirdOrder(index: number): number[] {
    const { h, onSample, onD0, first: c1, second: c2 } = dpmSolverStep(
      this.levels,
      index + 1,
      index,
      this.dataPrediction,
    );
    const r0 = lambdaRatio(this.levels, index, index - 1, h);
    const r1 = lambdaRatio(this.levels, index - 1, index - 2, h);
    // D1_0 = (m0 − m1)/r0, D1_1 = (m1 − m2)/r1, D1 = D1_0 + r0/(r0 + r1)·(D1_0 − D1_1), D2 = (D1_0 − D1_1)/(r0 + r1).
    const k = c1 * (r0 / (r0 + r1)) + c2 / (r0 + r1);
    const onD10 = c1 + k;
    const onD11 = -k;
    return [onSample, onD0 + onD10 / r0, -onD10 / r0 + onD11 / r1, -onD11 / r1];
  }
}
