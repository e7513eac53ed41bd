import type { RandomGenerator } from '../rng/types.js';
import {
  applyCombination,
  type BetaConfig,
  checkIndex,
  checkSameLength,
  checkStepCount,
  dataPrediction,
  noisePrediction,
  type PredictionType,
  solverTimesteps,
  type TimestepSpacing,
  trainingAlphasCumprod,
} from './discrete.js';
import { TensorHistory } from './history.js';
import {
  LOWER_ORDER_FINAL_BELOW,
  NoiseLevels,
  addNoiseAtLevel,
  clippedTimesteps,
  karrasSchedule,
  multistepOrder,
  sigmasAtTimesteps,
} from './multistep.js';
import { trainingSigmas, withFinalSigma } from './schedule.js';
import { noiseIndex, startIndex } from './sigmas.js';
import type { Scheduler, SchedulerId } from './types.js';

/**
 * The config keys a {@link SolverScheduler} reads itself. A class without one of the optional keys gets the
 * behaviour diffusers has for it: `linspace` spacing with offset 0, no clipped timesteps, Karras sigmas over the
 * whole training range, and (without `final_sigmas_type`) a schedule that ends on the smallest sigma.
 */
export interface SolverSchedulerConfig extends BetaConfig {
  readonly solver_order: number;
  readonly prediction_type: PredictionType;
  readonly use_karras_sigmas: boolean;
  readonly timestep_spacing?: TimestepSpacing;
  readonly steps_offset?: number;
  readonly lambda_min_clipped?: number;
  readonly sigma_min?: number | null;
  readonly sigma_max?: number | null;
  readonly final_sigmas_type?: 'zero' | 'sigma_min';
}

/** What sets the solvers apart besides their config keys. */
export interface SolverSchedulerOptions {
  /**
   * Whether the remembered model outputs are data predictions x̂₀ (DPM-Solver++, UniPC with `predict_x0`)
   * rather than noise predictions ε̂.
   */
  readonly dataPrediction: boolean;
  /** The config setting that asks for noise prediction, named when it meets a final sigma of zero. */
  readonly noisePredictionSetting?: string;
  /** How many model outputs to remember (default `solver_order`). */
  readonly history?: number;
  /**
   * How the timesteps of Karras sigmas become integers: rounded, or (DPM-Solver multistep) rounded except for
   * the cosine schedule, where they are truncated like diffusers' int64 cast. Default: rounded.
   */
  readonly karrasTimesteps?: 'round' | 'round-unless-cosine';
  /**
   * The smallest sigma a schedule that does not end on 0 ends on: always the smallest training sigma, or
   * (UniPC, DEIS) the last Karras sigma when there are Karras sigmas. Default: training.
   */
  readonly smallestSigma?: 'training' | 'schedule';
}

/**
 * What the exponential-integrator solvers on the discrete VP schedule have in common (DPM-Solver multistep and
 * singlestep, UniPC, DEIS): the schedule of `setTimesteps` and its α/σ/λ tables, the step counter with its begin
 * index, the remembered model outputs, unscaled model input and `add_noise` `α_t·x + σ_t·noise`. Each solver
 * implements {@link advance} (its update), usually starting with {@link pushOutput}.
 */
export abstract class SolverScheduler<C extends SolverSchedulerConfig> implements Scheduler {
  readonly id: SchedulerId;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  protected readonly config: C;
  /** Whether {@link outputs} holds data predictions x̂₀ (else noise predictions ε̂). */
  protected readonly dataPrediction: boolean;
  /** Converted model outputs of the last steps, newest first. */
  protected readonly outputs: TensorHistory;
  readonly #options: SolverSchedulerOptions;
  readonly #alphasCumprod: Float32Array;
  readonly #trainSigmas: Float32Array;
  #timesteps: Float64Array = new Float64Array(0);
  #sigmas: Float64Array = new Float64Array(0);
  #levels = new NoiseLevels(new Float64Array(0));
  /** Position in `timesteps` of the step being taken; null until the first step. */
  #stepIndex: number | null = null;
  /** Where img2img starts the loop (`setBeginIndex`), or null. */
  #beginIndex: number | null = null;
  /** Steps taken so far, at most `solver_order` (the warm-up of the multistep methods). */
  #stepsTaken = 0;

  protected constructor(id: SchedulerId, config: C, options: SolverSchedulerOptions) {
    if (!options.dataPrediction && config.final_sigmas_type === 'zero') {
      const setting = options.noisePredictionSetting ?? 'noise prediction';
      throw new Error(
        `Expected \`final_sigmas_type\` "sigma_min" for ${setting} of ${new.target.name}: a final sigma of zero needs data prediction`,
      );
    }
    this.id = id;
    this.config = config;
    this.dataPrediction = options.dataPrediction;
    this.#options = options;
    this.#alphasCumprod = trainingAlphasCumprod(config);
    this.#trainSigmas = trainingSigmas(this.#alphasCumprod);
    this.outputs = new TensorHistory(options.history ?? config.solver_order);
  }

  get timesteps(): Float64Array {
    return this.#timesteps;
  }

  get sigmas(): Float64Array {
    return this.#sigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkStepCount(numInferenceSteps, c.num_train_timesteps);
    const schedule = c.use_karras_sigmas
      ? karrasSchedule(this.#trainSigmas, numInferenceSteps, this.#roundsKarrasTimesteps(), {
          min: c.sigma_min,
          max: c.sigma_max,
        })
      : sigmasAtTimesteps(
          this.#trainSigmas,
          solverTimesteps(
            c.timestep_spacing ?? 'linspace',
            c.num_train_timesteps,
            numInferenceSteps,
            c.steps_offset ?? 0,
            c.num_train_timesteps -
              (c.lambda_min_clipped === undefined ? 0 : clippedTimesteps(this.#alphasCumprod, c.lambda_min_clipped)),
          ),
        );
    const smallest =
      this.#options.smallestSigma === 'schedule' && c.use_karras_sigmas
        ? schedule.sigmas[schedule.sigmas.length - 1]
        : this.#trainSigmas[0];
    this.#timesteps = schedule.timesteps;
    this.#sigmas = withFinalSigma(schedule.sigmas, c.final_sigmas_type === 'zero' ? 0 : (smallest ?? 0));
    this.#levels = new NoiseLevels(this.#sigmas);
    this.#stepIndex = null;
    this.#beginIndex = null;
    this.outputs.clear();
    this.#stepsTaken = 0;
  }

  setBeginIndex(index: number): void {
    checkIndex(index, this.#timesteps.length);
    this.#beginIndex = index;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _generator: RandomGenerator): void {
    if (this.#timesteps.length === 0) throw new Error(`${this.constructor.name}.step called before setTimesteps`);
    checkSameLength(modelOutput, sample);
    const index = (this.#stepIndex ??= startIndex(this.#timesteps, this.#beginIndex, timestep));
    this.advance(index, modelOutput, sample);
    this.#stepsTaken = Math.min(this.#stepsTaken + 1, this.config.solver_order);
    this.#stepIndex = index + 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = noiseIndex(this.#timesteps, this.#beginIndex, this.#stepIndex, timestep);
    return addNoiseAtLevel(this.#levels, index, original, noise);
  }

  /** α_t, σ_t and λ of each sigma of the schedule. */
  protected get levels(): NoiseLevels {
    return this.#levels;
  }

  /** Steps taken since `setTimesteps`, at most `solver_order`: the lower-order warm-up of the multistep methods. */
  protected get stepsTaken(): number {
    return this.#stepsTaken;
  }

  /** The solver's update of `sample` in place at step `index` (the step counter then moves on by one). */
  protected abstract advance(index: number, modelOutput: Float32Array, sample: Float32Array): void;

  /**
   * The order of a multistep update at step `index` (DPM-Solver multistep, DEIS): `solver_order` after the
   * warm-up; with `lowerOrderFinal`, 1 and 2 at the last two steps of a schedule shorter than
   * {@link LOWER_ORDER_FINAL_BELOW} steps; 1 at the last step when `firstAtLast`.
   */
  protected multistepOrderAt(index: number, lowerOrderFinal: boolean, firstAtLast = false): number {
    const steps = this.#timesteps.length;
    const short = lowerOrderFinal && steps < LOWER_ORDER_FINAL_BELOW;
    return multistepOrder({
      solverOrder: this.config.solver_order,
      stepsTaken: this.#stepsTaken,
      index,
      steps,
      firstAtLast: firstAtLast || short,
      secondAtSecondLast: short,
    });
  }

  /** Converts the model output at step `index` to a data or noise prediction and remembers it as the newest. */
  protected pushOutput(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    const { alpha, sigma } = this.#levels.at(index);
    const type = this.config.prediction_type;
    const conversion = this.dataPrediction ? dataPrediction(type, alpha, sigma) : noisePrediction(type, alpha, sigma);
    applyCombination(this.outputs.push(sample.length), conversion, sample, modelOutput);
  }

  /** The `count` newest remembered outputs, newest first. */
  protected newestOutputs(count: number): Float32Array[] {
    return Array.from({ length: count }, (_, age) => this.outputs.at(age));
  }

  #roundsKarrasTimesteps(): boolean {
    return this.#options.karrasTimesteps !== 'round-unless-cosine' || this.config.beta_schedule !== 'squaredcos_cap_v2';
  }
}
