import type { RandomGenerator } from '../rng/types.js';
import { booleanField, choiceField, fixedField, numberField, readConfig, type ConfigOf } from './config.js';
import {
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
  NoiseLevels,
  addNoiseAtLevel,
  clippedTimesteps,
  dpmSolverFirstOrder,
  karrasSchedule,
  linearCombination,
  sigmasAtTimesteps,
  solverFields,
} from './multistep.js';
import { trainingSigmas, withFinalSigma } from './schedule.js';
import { buffer, noiseIndex, startIndex } from './sigmas.js';
import type { Scheduler, SchedulerConfig, SchedulerId } from './types.js';

const FIELDS = {
  ...betaFields(),
  ...solverFields(),
  /** "deis" is read as "dpmsolver++", as diffusers does for configs saved by DEISMultistepScheduler. */
  algorithm_type: choiceField('dpmsolver++', ['dpmsolver++', 'dpmsolver', 'deis']),
  /** "logrho", "bh1" and "bh2" (other solvers' types) are read as "midpoint", as in diffusers. */
  solver_type: choiceField('midpoint', ['midpoint', 'heun', 'logrho', 'bh1', 'bh2']),
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
export class DPMSolverSinglestepScheduler implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 1;
  readonly initNoiseSigma = 1;

  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  #levels = new NoiseLevels(new Float64Array(0));
  readonly #config: ConfigOf<typeof FIELDS>;
  readonly #dataPrediction: boolean;
  readonly #heun: boolean;
  /** diffusers rewrites `lower_order_final` to true for good once a schedule needs it. */
  #lowerOrderFinal: boolean;
  readonly #alphasCumprod: Float32Array;
  readonly #trainSigmas: Float32Array;
  /** Position in `timesteps` of the step being taken; null until the first step. */
  #stepIndex: number | null = null;
  /** Where img2img starts the loop (`setBeginIndex`), or null. */
  #beginIndex: number | null = null;
  /** The solver order of each step. */
  #orders: number[] = [];
  /** Converted model outputs (x̂₀ or ε̂) of the current solver step, newest first. */
  readonly #outputs: TensorHistory;
  /** The sample where the current solver step began. */
  #start: Float32Array = new Float32Array(0);

  constructor(config: SchedulerConfig, id: SchedulerId) {
    this.id = id;
    this.#config = readConfig('DPMSolverSinglestepScheduler', FIELDS, config);
    this.#dataPrediction = this.#config.algorithm_type !== 'dpmsolver';
    this.#heun = this.#config.solver_type === 'heun';
    if (!this.#dataPrediction && this.#config.final_sigmas_type === 'zero') {
      throw new Error(
        'Expected `final_sigmas_type` "sigma_min" for `algorithm_type` "dpmsolver" of DPMSolverSinglestepScheduler: a final sigma of zero needs data prediction',
      );
    }
    this.#lowerOrderFinal = this.#config.lower_order_final;
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
      ? karrasSchedule(this.#trainSigmas, numInferenceSteps, true)
      : sigmasAtTimesteps(
          this.#trainSigmas,
          solverTimesteps(
            'linspace',
            config.num_train_timesteps,
            numInferenceSteps,
            0,
            config.num_train_timesteps - clippedTimesteps(this.#alphasCumprod, config.lambda_min_clipped),
          ),
        );
    const finalZero = config.final_sigmas_type === 'zero';
    this.#timesteps = schedule.timesteps;
    this.#sigmas = withFinalSigma(schedule.sigmas, finalZero ? 0 : (this.#trainSigmas[0] ?? 0));
    this.#levels = new NoiseLevels(this.#sigmas);
    if (numInferenceSteps % config.solver_order !== 0 || finalZero) this.#lowerOrderFinal = true;
    this.#orders = this.#orderList(numInferenceSteps);
    this.#stepIndex = null;
    this.#beginIndex = null;
    this.#outputs.clear();
  }

  setBeginIndex(index: number): void {
    checkIndex(index, this.#timesteps.length);
    this.#beginIndex = index;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _generator: RandomGenerator): void {
    if (this.#timesteps.length === 0) throw new Error('DPMSolverSinglestepScheduler.step called before setTimesteps');
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    const { alpha, sigma } = this.#levels.at(index);
    const type = this.#config.prediction_type;
    const conversion = this.#dataPrediction ? dataPrediction(type, alpha, sigma) : noisePrediction(type, alpha, sigma);
    applyCombination(this.#outputs.push(sample.length), conversion, sample, modelOutput);
    // After img2img starts mid-step, fewer outputs than the order are held: use what there is.
    const order = Math.min(this.#orders[index] ?? 1, this.#outputs.count);
    if (order === 1) (this.#start = buffer(this.#start, sample.length)).set(sample);
    const outputs = Array.from({ length: order }, (_, age) => this.#outputs.at(age));
    linearCombination(sample, this.#coefficients(order, index), [this.#start, ...outputs]);
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseAtLevel(this.#levels, index, original, noise);
  }

  /** diffusers' `get_order_list`: the order of each step, cycling 1, 2, (3), ending low when asked. */
  #orderList(steps: number): number[] {
    const order = this.#config.solver_order;
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
    if (this.#config.final_sigmas_type === 'zero' && orders.length > 0) orders[orders.length - 1] = 1;
    return orders;
  }

  /** Coefficients of [start sample, m0, …] of the update of `order` ending at step `index + 1`. */
  #coefficients(order: number, index: number): number[] {
    if (order === 1) return dpmSolverFirstOrder(this.#levels, index + 1, index, this.#dataPrediction);
    return order === 2 ? this.#secondOrder(index) : this.#thirdOrder(index);
  }

  /**
   * Coefficients of [start, m0, m1] of diffusers' `singlestep_dpm_solver_second_order_update`: from the start
   * level s1 (output m1) through s0 (output m0) to t, with D0 = m1, D1 = (m0 − m1)/r0.
   */
  #secondOrder(index: number): number[] {
    const f = Math.fround;
    const t = this.#levels.at(index + 1);
    const s0 = this.#levels.at(index);
    const s1 = this.#levels.at(index - 1);
    const h = f(t.lambda - s1.lambda);
    const r0 = f(f(s0.lambda - s1.lambda) / h);
    const [startCoeff, d0] = dpmSolverFirstOrder(this.#levels, index + 1, index - 1, this.#dataPrediction);
    let c1: number;
    if (this.#dataPrediction) {
      const phi = f(f(Math.exp(-h)) - 1);
      c1 = this.#heun ? f(t.alpha * f(f(phi / h) + 1)) : -0.5 * f(t.alpha * phi);
    } else {
      const phi = f(f(Math.exp(h)) - 1);
      c1 = this.#heun ? -f(t.sigma * f(f(phi / h) - 1)) : -0.5 * f(t.sigma * phi);
    }
    return [startCoeff, c1 / r0, d0 - c1 / r0];
  }

  /**
   * Coefficients of [start, m0, m1, m2] of diffusers' `singlestep_dpm_solver_third_order_update`: from the start
   * level s2 (output m2) through s1 and s0 to t, with D1_0 = (m1 − m2)/r1 and D1_1 = (m0 − m2)/r0.
   */
  #thirdOrder(index: number): number[] {
    const f = Math.fround;
    const t = this.#levels.at(index + 1);
    const s0 = this.#levels.at(index);
    const s1 = this.#levels.at(index - 1);
    const s2 = this.#levels.at(index - 2);
    const h = f(t.lambda - s2.lambda);
    const r0 = f(f(s0.lambda - s2.lambda) / h);
    const r1 = f(f(s1.lambda - s2.lambda) / h);
    const [startCoeff, d0] = dpmSolverFirstOrder(this.#levels, index + 1, index - 2, this.#dataPrediction);
    const phi = this.#dataPrediction ? f(f(Math.exp(-h)) - 1) : f(f(Math.exp(h)) - 1);
    const scale = this.#dataPrediction ? t.alpha : -t.sigma;
    const c1 = f(scale * f(f(phi / h) + (this.#dataPrediction ? 1 : -1)));
    let onD10 = 0;
    let onD11 = c1;
    if (this.#heun) {
      // D1 = (r0·D1_0 − r1·D1_1)/(r0 − r1), D2 = 2·(D1_1 − D1_0)/(r0 − r1).
      const quotient = this.#dataPrediction ? f(f(f(phi + h) / f(h * h)) - 0.5) : f(f(f(phi - h) / f(h * h)) - 0.5);
      const c2 = -f(scale * quotient) * (this.#dataPrediction ? 1 : -1);
      onD10 = (c1 * r0 - 2 * c2) / (r0 - r1);
      onD11 = (-c1 * r1 + 2 * c2) / (r0 - r1);
    }
    return [startCoeff, onD11 / r0, onD10 / r1, d0 - onD10 / r1 - onD11 / r0];
  }
}
