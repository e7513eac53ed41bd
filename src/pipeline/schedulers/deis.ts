import { booleanField, choiceField, readConfig, type ConfigOf } from './config.js';
import { spacingFields } from './discrete.js';
import { dpmSolverFirstOrder, linearCombination, solverFields } from './multistep.js';
import { SolverScheduler } from './solver-scheduler.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...solverFields(),
  /** "dpmsolver" and "dpmsolver++" (DPM-Solver configs) are read as "deis", as in diffusers. */
  algorithm_type: choiceField('deis', ['deis', 'dpmsolver', 'dpmsolver++']),
  /** Other solvers' types are read as "logrho", as in diffusers. */
  solver_type: choiceField('logrho', ['logrho', 'midpoint', 'heun', 'bh1', 'bh2']),
  lower_order_final: booleanField(true),
  ...spacingFields('linspace'),
} as const;

/**
 * Diffusion exponential integrator sampler (Zhang & Chen 2022, "Fast Sampling of Diffusion Models with
 * Exponential Integrator"), diffusers' `DEISMultistepScheduler` with the log-ρ multistep solver: the noise
 * prediction is extrapolated by a Lagrange polynomial in log ρ (ρ = σ/α) over the last steps and integrated
 * exactly. The schedule ends on the smallest training sigma instead of 0.
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.0001, `beta_end` 0.02,
 * `beta_schedule` "linear", `solver_order` 2, `prediction_type` "epsilon", `lower_order_final` true,
 * `use_karras_sigmas` false, `timestep_spacing` "linspace", `steps_offset` 0.
 */
export class DEISMultistepScheduler extends SolverScheduler<ConfigOf<typeof FIELDS>> {
  constructor(config: SchedulerConfig, id: SchedulerId) {
    // Noise predictions ε̂; the schedule ends on the smallest sigma (DEIS has no `final_sigmas_type`).
    super(id, readConfig('DEISMultistepScheduler', FIELDS, config), {
      dataPrediction: false,
      smallestSigma: 'schedule',
    });
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    const order = this.multistepOrderAt(index, this.config.lower_order_final);
    this.pushOutput(index, modelOutput, sample);
    linearCombination(sample, this.#coefficients(order, index), [sample, ...this.newestOutputs(order)]);
  }

  /**
   * Coefficients of [sample, m0, …] of the update of `order` from step `index` to the next: first order is
   * DDIM; higher orders are x_t = α_t·(x/α_s0 + Σ c_k·m_k) with c_k the integral over log ρ of the Lagrange
   * basis polynomial of m_k (diffusers' `multistep_deis_{second,third}_order_update`).
   */
  #coefficients(order: number, index: number): number[] {
    if (order === 1) return dpmSolverFirstOrder(this.levels, index + 1, index, this.dataPrediction);
    const f = Math.fround;
    const t = this.levels.at(index + 1);
    const rho = (i: number): number => {
      const { alpha, sigma } = this.levels.at(i);
      return f(sigma / alpha);
    };
    const [rhoT, ...nodes] = [rho(index + 1), ...Array.from({ length: order }, (_, k) => rho(index - k))];
    const rhoS0 = nodes[0] ?? 0;
    // Node k's basis integral from ρ_s0 to ρ_t; the other nodes follow in diffusers' argument order.
    const weights = nodes.map((_, k) => {
      const others = order === 2 ? [nodes[1 - k] ?? 0] : [nodes[(k + 1) % 3] ?? 0, nodes[(k + 2) % 3] ?? 0];
      const integral = order === 2 ? secondOrderIntegral : thirdOrderIntegral;
      const node = nodes[k] ?? 0;
      return t.alpha * f(integral(rhoT, node, others) - integral(rhoS0, node, others));
    });
    return [f(t.alpha / this.levels.at(index).alpha), ...weights];
  }
}

/**
 * diffusers' second-order `ind_fn(t, b, c)` = t·(−log c + log t − 1)/(log b − log c): the antiderivative in ρ
 * of the Lagrange basis polynomial (in log ρ) of node b against node c, float32 like numpy on float32 scalars.
 */
function secondOrderIntegral(t: number, b: number, [c = 0]: readonly number[]): number {
  const f = Math.fround;
  const [logT, logB, logC] = [f(Math.log(t)), f(Math.log(b)), f(Math.log(c))];
  return f(f(t * f(f(-logC + logT) - 1)) / f(logB - logC));
}

/** diffusers' third-order `ind_fn(t, b, c, d)`, the same for node b against nodes c and d. */
function thirdOrderIntegral(t: number, b: number, [c = 0, d = 0]: readonly number[]): number {
  const f = Math.fround;
  const [logT, logB, logC, logD] = [f(Math.log(t)), f(Math.log(b)), f(Math.log(c)), f(Math.log(d))];
  let sum = f(logC * f(f(logD - logT) + 1));
  sum = f(sum - f(logD * logT));
  sum = f(sum + logD);
  sum = f(sum + f(logT * logT));
  sum = f(sum - f(2 * logT));
  sum = f(sum + 2);
  return f(f(t * sum) / f(f(logB - logC) * f(logB - logD)));
}
