import { booleanField, choiceField, fixedField, numberField, readConfig, type ConfigOf } from './config.js';
import {
  dpmSolverFirstOrder,
  dpmSolverStep,
  dpmSolverTypeFields,
  lambdaRatio,
  linearCombination,
  solverFields,
} from './multistep.js';
import { SolverScheduler } from './solver-scheduler.js';
import { buffer } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...solverFields(),
  ...dpmSolverTypeFields(),
  lower_order_final: booleanField(false),
  final_sigmas_type: choiceField('zero', ['zero', 'sigma_min']),
  lambda_min_clipped: numberField(-Infinity),
  variance_type: fixedField(null),
} as const;

/**
 * Singlestep DPM-Solver and DPM-Solver++ (Lu et al. 2022), diffusers' `DPMSolverSinglestepScheduler`: each
 * solver step of order k spends k model calls, the first k − 1 at intermediate timesteps of the schedule, and
 * integrates from the sample where the step began. With the defaults it is "DPM++ 2S".
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.0001, `beta_end` 0.02,
 * `beta_schedule` "linear", `solver_order` 2, `prediction_type` "epsilon", `algorithm_type` "dpmsolver++",
 * `solver_type` "midpoint", `lower_order_final` false (turned on, as diffusers does, when the step count is not
 * a multiple of the order or the final sigma is zero), `use_karras_sigmas` false, `final_sigmas_type` "zero",
 * `lambda_min_clipped` −∞. The SDE variant is not supported.
 */
export class DPMSolverSinglestepScheduler extends SolverScheduler<ConfigOf<typeof FIELDS>> {
  readonly #heun: boolean;
  /** diffusers rewrites `lower_order_final` to true for good once a schedule needs it. */
  #lowerOrderFinal: boolean;
  /** The solver order of each step. */
  #orders: number[] = [];
  /** The sample where the current solver step began. */
  #start: Float32Array = new Float32Array(0);

  constructor(config: SchedulerConfig, id: SchedulerId) {
    const read = readConfig('DPMSolverSinglestepScheduler', FIELDS, config);
    super(id, read, {
      dataPrediction: read.algorithm_type !== 'dpmsolver',
      noisePredictionSetting: '`algorithm_type` "dpmsolver"',
    });
    this.#heun = read.solver_type === 'heun';
    this.#lowerOrderFinal = read.lower_order_final;
  }

  override setTimesteps(numInferenceSteps: number): void {
    super.setTimesteps(numInferenceSteps);
    const finalZero = this.config.final_sigmas_type === 'zero';
    if (numInferenceSteps % this.config.solver_order !== 0 || finalZero) this.#lowerOrderFinal = true;
    this.#orders = this.#orderList(numInferenceSteps);
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    this.pushOutput(index, modelOutput, sample);
    // After img2img starts mid-step, fewer outputs than the order are held: use what there is.
    const order = Math.min(this.#orders[index] ?? 1, this.outputs.count);
    if (order === 1) (this.#start = buffer(this.#start, sample.length)).set(sample);
    linearCombination(sample, this.#coefficients(order, index), [this.#start, ...this.newestOutputs(order)]);
  }

  /** diffusers' `get_order_list`: the order of each step, cycling 1, 2, (3), ending low when asked. */
  #orderList(steps: number): number[] {
    const order = this.config.solver_order;
    const cycle = Array.from({ length: order }, (_, i) => i + 1);
    const repeat = (times: number): number[] => Array.from({ length: Math.max(times, 0) }, () => cycle).flat();
    let orders: number[];
    if (!this.#lowerOrderFinal || order === 1) {
      orders = repeat(Math.floor(steps / order));
    } else if (order === 3) {
      const tails = [[1, 2, 1], [1], [1, 2]] as const;
      orders = [...repeat(Math.floor(steps / 3) - (steps % 3 === 0 ? 1 : 0)), ...(tails[steps % 3] ?? [])];
    } else {
      orders = steps % 2 === 0 ? [...repeat(steps / 2 - 1), 1, 1] : [...repeat(Math.floor(steps / 2)), 1];
    }
    if (this.config.final_sigmas_type === 'zero' && orders.length > 0) orders[orders.length - 1] = 1;
    return orders;
  }

  /** Coefficients of [start sample, m0, …] of the update of `order` ending at step `index + 1`. */
  #coefficients(order: number, index: number): number[] {
    if (order === 1) return dpmSolverFirstOrder(this.levels, index + 1, index, this.dataPrediction);
    return order === 2 ? this.#secondOrder(index) : this.#thirdOrder(index);
  }

  /**
   * Coefficients of [start, m0, m1] of diffusers' `singlestep_dpm_solver_second_order_update`: from the start
   * level s1 (output m1) through s0 (output m0) to t, with D0 = m1, D1 = (m0 − m1)/r0.
   */
  #secondOrder(index: number): number[] {
    const step = dpmSolverStep(this.levels, index + 1, index - 1, this.dataPrediction);
    const r0 = lambdaRatio(this.levels, index, index - 1, step.h);
    const c1 = this.#heun ? step.first : step.midpoint;
    return [step.onSample, c1 / r0, step.onD0 - c1 / r0];
  }

  /**
   * Coefficients of [start, m0, m1, m2] of diffusers' `singlestep_dpm_solver_third_order_update`: from the start
   * level s2 (output m2) through s1 and s0 to t, with D1_0 = (m1 − m2)/r1 and D1_1 = (m0 − m2)/r0.
   */
  #thirdOrder(index: number): number[] {
    const { h, onSample, onD0, first: c1, second: c2 } = dpmSolverStep(
      this.levels,
      index + 1,
      index - 2,
      this.dataPrediction,
    );
    const r0 = lambdaRatio(this.levels, index, index - 2, h);
    const r1 = lambdaRatio(this.levels, index - 1, index - 2, h);
    let onD10 = 0;
    let onD11 = c1;
    if (this.#heun) {
      // D1 = (r0·D1_0 − r1·D1_1)/(r0 − r1), D2 = 2·(D1_1 − D1_0)/(r0 − r1).
      onD10 = (c1 * r0 - 2 * c2) / (r0 - r1);
      onD11 = (-c1 * r1 + 2 * c2) / (r0 - r1);
    }
    return [onSample, onD11 / r0, onD10 / r1, onD0 - onD10 / r1 - onD11 / r0];
  }
}
