import type { RandomGenerator } from '../rng/types.js';
import { booleanField, choiceField, fixedField, integerField, numberField, readConfig, type ConfigOf } from './config.js';
import {
  TIMESTEP_SPACINGS,
  applyCombination,
  betaFields,
  checkIndex,
  checkSameLength,
  checkStepCount,
  dataPrediction,
  noisePrediction,
  solverTimesteps,
  trainingAlphasCumprod,
} from './discrete.js';
import { TensorHistory } from './history.js';
import {
  LOWER_ORDER_FINAL_BELOW,
  NoiseLevels,
  addNoiseAtLevel,
  clippedTimesteps,
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
  /** "deis" is read as "dpmsolver++", as diffusers does for configs saved by DEISMultistepScheduler. */
  algorithm_type: choiceField('dpmsolver++', ['dpmsolver++', 'dpmsolver', 'deis']),
  /** "logrho", "bh1" and "bh2" (other solvers' types) are read as "midpoint", as in diffusers. */
  solver_type: choiceField('midpoint', ['midpoint', 'heun', 'logrho', 'bh1', 'bh2']),
  lower_order_final: booleanField(true),
  euler_at_final: booleanField(false),
  use_lu_lambdas: fixedField(false),
  final_sigmas_type: choiceField('zero', ['zero', 'sigma_min']),
  lambda_min_clipped: numberField(-Infinity),
  variance_type: fixedField(null),
  timestep_spacing: choiceField('linspace', TIMESTEP_SPACINGS),
  steps_offset: integerField(0, { min: 0 }),
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
export class DPMSolverMultistepScheduler implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 1;
  readonly initNoiseSigma = 1;

  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  #levels = new NoiseLevels(new Float64Array(0));
  readonly #config: ConfigOf<typeof FIELDS>;
  readonly #dataPrediction: boolean;
  readonly #heun: boolean;
  readonly #alphasCumprod: Float32Array;
  readonly #trainSigmas: Float32Array;
  /** Position in `timesteps` of the step being taken; null until the first step. */
  #stepIndex: number | null = null;
  /** Where img2img starts the loop (`setBeginIndex`), or null. */
  #beginIndex: number | null = null;
  /** Converted model outputs (x̂₀ or ε̂) of the last `solver_order` steps. */
  readonly #outputs: TensorHistory;
  /** Steps taken at lower order so far (the warm-up of the multistep method), at most `solver_order`. */
  #lowerOrderSteps = 0;

  constructor(config: SchedulerConfig, id: SchedulerId) {
    this.id = id;
    this.#config = readConfig('DPMSolverMultistepScheduler', FIELDS, config);
    this.#dataPrediction = this.#config.algorithm_type !== 'dpmsolver';
    this.#heun = this.#config.solver_type === 'heun';
    if (!this.#dataPrediction && this.#config.final_sigmas_type === 'zero') {
      throw new Error(
        'Expected `final_sigmas_type` "sigma_min" for `algorithm_type` "dpmsolver" of DPMSolverMultistepScheduler: a final sigma of zero needs data prediction',
      );
    }
    this.#alphasCumprod = trainingAlphasCumprod(this.#config);
    this.#trainSigmas = trainingSigmas(this.#alphasCumprod);
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
      ? karrasSchedule(this.#trainSigmas, numInferenceSteps, config.beta_schedule !== 'squaredcos_cap_v2')
      : sigmasAtTimesteps(
          this.#trainSigmas,
          solverTimesteps(
            config.timestep_spacing,
            config.num_train_timesteps,
            numInferenceSteps,
            config.steps_offset,
            config.num_train_timesteps - clippedTimesteps(this.#alphasCumprod, config.lambda_min_clipped),
          ),
        );
    const last = config.final_sigmas_type === 'zero' ? 0 : (this.#trainSigmas[0] ?? 0);
    this.#timesteps = schedule.timesteps;
    this.#sigmas = withFinalSigma(schedule.sigmas, last);
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
    if (this.#timesteps.length === 0) throw new Error('DPMSolverMultistepScheduler.step called before setTimesteps');
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    const order = this.#orderAt(index);
    const { alpha, sigma } = this.#levels.at(index);
    const type = this.#config.prediction_type;
    const conversion = this.#dataPrediction ? dataPrediction(type, alpha, sigma) : noisePrediction(type, alpha, sigma);
    applyCombination(this.#outputs.push(sample.length), conversion, sample, modelOutput);
    linearCombination(sample, this.#coefficients(order, index), [sample, ...this.#history(order)]);
    this.#lowerOrderSteps = Math.min(this.#lowerOrderSteps + 1, this.#config.solver_order);
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseAtLevel(this.#levels, index, original, noise);
  }

  /** The order of the update at step `index`: lower during the warm-up and, when asked, at the end. */
  #orderAt(index: number): number {
    const { solver_order: solverOrder, lower_order_final: lowerFinal, euler_at_final: eulerAtFinal } = this.#config;
    const steps = this.#timesteps.length;
    const short = lowerFinal && steps < LOWER_ORDER_FINAL_BELOW;
    return multistepOrder({
      solverOrder,
      stepsTaken: this.#lowerOrderSteps,
      index,
      steps,
      firstAtLast: eulerAtFinal || short || this.#config.final_sigmas_type === 'zero',
      secondAtSecondLast: short,
    });
  }

  /** The converted outputs an update of `order` combines, newest first. */
  #history(order: number): Float32Array[] {
    return Array.from({ length: order }, (_, age) => this.#outputs.at(age));
  }

  /** Coefficients of [sample, m0, …] of the update of `order` from step `index` to the next. */
  #coefficients(order: number, index: number): number[] {
    if (order === 1) return this.#firstOrder(index);
    return order === 2 ? this.#secondOrder(index) : this.#thirdOrder(index);
  }

  /** Coefficients of [sample, m0] of the first-order update from `index` to `index + 1`. */
  #firstOrder(index: number): number[] {
    return dpmSolverFirstOrder(this.#levels, index + 1, index, this.#dataPrediction);
  }

  /**
   * Coefficients of [sample, m0, m1] of the second-order multistep update (diffusers'
   * `multistep_dpm_solver_second_order_update`): D0 = m0, D1 = (m0 − m1)/r0 with r0 = h_0/h.
   */
  #secondOrder(index: number): number[] {
    const f = Math.fround;
    const t = this.#levels.at(index + 1);
    const s0 = this.#levels.at(index);
    const s1 = this.#levels.at(index - 1);
    const h = f(t.lambda - s0.lambda);
    const r0 = f(f(s0.lambda - s1.lambda) / h);
    const [sampleCoeff, d0] = dpmSolverFirstOrder(this.#levels, index + 1, index, this.#dataPrediction);
    const d1 = this.#secondOrderCorrection(t, h) / r0;
    return [sampleCoeff, d0 + d1, -d1];
  }

  /** The coefficient of D1 in the second-order update, for the configured algorithm and solver type. */
  #secondOrderCorrection(t: { alpha: number; sigma: number }, h: number): number {
    const f = Math.fround;
    if (this.#dataPrediction) {
      const phi = f(f(Math.exp(-h)) - 1);
      return this.#heun ? f(t.alpha * f(f(phi / h) + 1)) : -0.5 * f(t.alpha * phi);
    }
    const phi = f(f(Math.exp(h)) - 1);
    return this.#heun ? -f(t.sigma * f(f(phi / h) - 1)) : -0.5 * f(t.sigma * phi);
  }

  /**
   * Coefficients of [sample, m0, m1, m2] of the third-order multistep update (diffusers'
   * `multistep_dpm_solver_third_order_update`).
   */
  #thirdOrder(index: number): number[] {
    const f = Math.fround;
    const t = this.#levels.at(index + 1);
    const s0 = this.#levels.at(index);
    const s1 = this.#levels.at(index - 1);
    const s2 = this.#levels.at(index - 2);
    const h = f(t.lambda - s0.lambda);
    const r0 = f(f(s0.lambda - s1.lambda) / h);
    const r1 = f(f(s1.lambda - s2.lambda) / h);
    const [sampleCoeff, d0] = dpmSolverFirstOrder(this.#levels, index + 1, index, this.#dataPrediction);
    let c1: number;
    let c2: number;
    if (this.#dataPrediction) {
      const phi = f(f(Math.exp(-h)) - 1);
      c1 = f(t.alpha * f(f(phi / h) + 1));
      c2 = -f(t.alpha * f(f(f(phi + h) / f(h * h)) - 0.5));
    } else {
      const phi = f(f(Math.exp(h)) - 1);
      c1 = -f(t.sigma * f(f(phi / h) - 1));
      c2 = -f(t.sigma * f(f(f(phi - h) / f(h * h)) - 0.5));
    }
    // D1_0 = (m0 − m1)/r0, D1_1 = (m1 − m2)/r1, D1 = D1_0 + r0/(r0 + r1)·(D1_0 − D1_1), D2 = (D1_0 − D1_1)/(r0 + r1).
    const k = c1 * (r0 / (r0 + r1)) + c2 / (r0 + r1);
    const onD10 = c1 + k;
    const onD11 = -k;
    return [sampleCoeff, d0 + onD10 / r0, -onD10 / r0 + onD11 / r1, -onD11 / r1];
  }
}
