import type { RandomGenerator } from '../rng/types.js';
import { booleanField, choiceField, integerField, readConfig, type ConfigOf } from './config.js';
import {
  TIMESTEP_SPACINGS,
  applyCombination,
  betaFields,
  checkIndex,
  checkSameLength,
  checkStepCount,
  noisePrediction,
  solverTimesteps,
  trainingAlphasCumprod,
} from './discrete.js';
import { TensorHistory } from './history.js';
import {
  LOWER_ORDER_FINAL_BELOW,
  NoiseLevels,
  addNoiseAtLevel,
  dpmSolverFirstOrder,
  karrasSchedule,
  linearCombination,
  multistepOrder,
  sigmasAtTimesteps,
  solverFields,
} from './multistep.js';
import { trainingSigmas, withFinalSigma } from './schedule.js';
import { noiseIndex, startIndex } from './sigmas.js';
import type { Scheduler, SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...betaFields(),
  ...solverFields(),
  /** "dpmsolver" and "dpmsolver++" (DPM-Solver configs) are read as "deis", as in diffusers. */
  algorithm_type: choiceField('deis', ['deis', 'dpmsolver', 'dpmsolver++']),
  /** Other solvers' types are read as "logrho", as in diffusers. */
  solver_type: choiceField('logrho', ['logrho', 'midpoint', 'heun', 'bh1', 'bh2']),
  lower_order_final: booleanField(true),
  timestep_spacing: choiceField('linspace', TIMESTEP_SPACINGS),
  steps_offset: integerField(0, { min: 0 }),
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
export class DEISMultistepScheduler implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 1;
  readonly initNoiseSigma = 1;

  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  #levels = new NoiseLevels(new Float64Array(0));
  readonly #config: ConfigOf<typeof FIELDS>;
  readonly #trainSigmas: Float32Array;
  /** Position in `timesteps` of the step being taken; null until the first step. */
  #stepIndex: number | null = null;
  /** Where img2img starts the loop (`setBeginIndex`), or null. */
  #beginIndex: number | null = null;
  /** Noise predictions ε̂ of the last `solver_order` steps. */
  readonly #outputs: TensorHistory;
  /** Steps taken so far, at most `solver_order` (the warm-up of the multistep method). */
  #lowerOrderSteps = 0;

  constructor(config: SchedulerConfig, id: SchedulerId) {
    this.id = id;
    this.#config = readConfig('DEISMultistepScheduler', FIELDS, config);
    this.#trainSigmas = trainingSigmas(trainingAlphasCumprod(this.#config));
    this.#outputs = new TensorHistory(this.#config.solver_order);
  }

  get timesteps(): Float64Array {
    return this.#timesteps;
  }

  get sigmas(): Float64Array {
    return this.#sigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    const config = this.#config;
    checkStepCount(numInferenceSteps, config.num_train_timesteps);
    const schedule = config.use_karras_sigmas
      ? karrasSchedule(this.#trainSigmas, numInferenceSteps, true)
      : sigmasAtTimesteps(
          this.#trainSigmas,
          solverTimesteps(config.timestep_spacing, config.num_train_timesteps, numInferenceSteps, config.steps_offset),
        );
    // The last sigma repeats the smallest one: the last Karras sigma, or that of training timestep 0.
    const smallest = config.use_karras_sigmas ? schedule.sigmas[schedule.sigmas.length - 1] : this.#trainSigmas[0];
    this.#timesteps = schedule.timesteps;
    this.#sigmas = withFinalSigma(schedule.sigmas, smallest ?? 0);
    this.#levels = new NoiseLevels(this.#sigmas);
    this.#stepIndex = null;
    this.#beginIndex = null;
    this.#outputs.clear();
    this.#lowerOrderSteps = 0;
  }

  setBeginIndex(index: number): void {
    checkIndex(index, this.#timesteps.length);
    this.#beginIndex = index;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _generator: RandomGenerator): void {
    if (this.#timesteps.length === 0) throw new Error('DEISMultistepScheduler.step called before setTimesteps');
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    const steps = this.#timesteps.length;
    const short = this.#config.lower_order_final && steps < LOWER_ORDER_FINAL_BELOW;
    const order = multistepOrder({
      solverOrder: this.#config.solver_order,
      stepsTaken: this.#lowerOrderSteps,
      index,
      steps,
      firstAtLast: short,
      secondAtSecondLast: short,
    });
    const { alpha, sigma } = this.#levels.at(index);
    const conversion = noisePrediction(this.#config.prediction_type, alpha, sigma);
    applyCombination(this.#outputs.push(sample.length), conversion, sample, modelOutput);
    const outputs = Array.from({ length: order }, (_, age) => this.#outputs.at(age));
    linearCombination(sample, this.#coefficients(order, index), [sample, ...outputs]);
    this.#lowerOrderSteps = Math.min(this.#lowerOrderSteps + 1, this.#config.solver_order);
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseAtLevel(this.#levels, index, original, noise);
  }

  /**
   * Coefficients of [sample, m0, …] of the update of `order` from step `index` to the next: first order is
   * DDIM; higher orders are x_t = α_t·(x/α_s0 + Σ c_k·m_k) with c_k the integral over log ρ of the Lagrange
   * basis polynomial of m_k (diffusers' `multistep_deis_{second,third}_order_update`).
   */
  #coefficients(order: number, index: number): number[] {
    if (order === 1) return dpmSolverFirstOrder(this.#levels, index + 1, index, false);
    const f = Math.fround;
    const t = this.#levels.at(index + 1);
    const rho = (i: number): number => {
      const { alpha, sigma } = this.#levels.at(i);
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
    return [f(t.alpha / this.#levels.at(index).alpha), ...weights];
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
