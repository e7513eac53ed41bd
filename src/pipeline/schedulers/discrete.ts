/**
 * Pieces shared by the samplers that work on diffusers' discrete variance-preserving schedule: `alphas_cumprod`
 * over the integer training timesteps (PNDM, DDIM, DDPM, LCM, and the multistep solvers built on top of it).
 * Each function reproduces the numpy (float64) or torch (float32) expression diffusers uses, as noted.
 */
import { alphasCumprod, makeBetas, rescaleZeroTerminalSnr } from './schedule.js';
import { booleanField, choiceField, fixedField, integerField, numberField } from './config.js';

/** What the UNet predicts: the noise, Imagen Video's `v`, or the clean sample. */
export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

/** How inference timesteps are spread over the training ones (table 2 of "Sample Steps are Flawed"). */
export const TIMESTEP_SPACINGS = ['linspace', 'leading', 'trailing'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/** The beta schedules dreamcord implements (see `makeBetas`). */
export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

/**
 * The config fields that define the training noise schedule, with diffusers' defaults for most classes
 * (LCM overrides them). `trained_betas` (explicit betas) is not supported.
 */
export function betaFields(
  defaults: { beta_start: number; beta_end: number; beta_schedule: BetaSchedule } = {
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: 'linear',
  },
) {
  return {
    num_train_timesteps: integerField(1000, { min: 2 }),
    beta_start: numberField(defaults.beta_start, { min: 0, max: 1 }),
    beta_end: numberField(defaults.beta_end, { min: 0, max: 1 }),
    beta_schedule: choiceField(defaults.beta_schedule, BETA_SCHEDULES),
    trained_betas: fixedField(null),
  } as const;
}

/**
 * The config fields that place the inference timesteps on the training ones: `timestep_spacing` (default
 * `spacing`) and `steps_offset` (default 0).
 */
export function spacingFields(spacing: TimestepSpacing = 'linspace') {
  return {
    timestep_spacing: choiceField(spacing, TIMESTEP_SPACINGS),
    steps_offset: integerField(0, { min: 0 }),
  } as const;
}

/** The training noise schedule of a config read with {@link betaFields}. */
export interface BetaConfig {
  readonly num_train_timesteps: number;
  readonly beta_start: number;
  readonly beta_end: number;
  readonly beta_schedule: string;
  /** Rescaled to zero terminal SNR (the classes that read {@link zeroSnrField}; the others keep false). */
  readonly rescale_betas_zero_snr?: boolean;
}

/** `rescale_betas_zero_snr` for the classes of diffusers that take it (Euler, Euler a, DDIM): default false. */
export function zeroSnrField() {
  return { rescale_betas_zero_snr: booleanField(false) } as const;
}

/**
 * What the sigma-based classes (Euler, Euler a) set the last ᾱ of a zero-SNR schedule to: "close to 0 without being
 * 0 so first sigma is not inf" (fp16's smallest subnormal, 2⁻²⁴), as diffusers does. DDIM keeps the 0.
 */
export const ZERO_SNR_FLOOR = 2 ** -24;

/**
 * `alphas_cumprod` (float32) of a config read with {@link betaFields}: its betas, rescaled to zero terminal SNR
 * with `rescale_betas_zero_snr` (the last ᾱ then 0, or `floor` when given).
 */
export function trainingAlphasCumprod(config: BetaConfig, floor?: number): Float32Array {
  const betas = makeBetas(config.beta_schedule, config.beta_start, config.beta_end, config.num_train_timesteps);
  if (!config.rescale_betas_zero_snr) return alphasCumprod(betas);
  const out = alphasCumprod(rescaleZeroTerminalSnr(betas));
  if (floor !== undefined) out[out.length - 1] = floor;
  return out;
}

/** `np.round`: halves go to the even neighbour (unlike `Math.round`, which rounds them up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `np.arange(start, stop, step)` in float64: `ceil((stop − start) / step)` values. Like numpy, it fills them
 * as `start + i·delta` with `delta = (start + step) − start`, which can differ from `step` in the last bit.
 */
function arange(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(Math.ceil((stop - start) / step), 0);
  const delta = start + step - start;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = start + i * delta;
  return out;
}

/**
 * The descending integer timesteps of DDIM's and DDPM's `set_timesteps` (PNDM uses them ascending):
 * `linspace` spreads `steps` over [0, T−1]; `leading` takes multiples of T // steps plus `stepsOffset`;
 * `trailing` counts down from T in steps of T / steps, minus 1.
 */
export function spacedTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  steps: number,
  stepsOffset: number,
): Float64Array {
  switch (spacing) {
    case 'linspace': {
      const out = new Float64Array(steps);
      const step = steps > 1 ? (numTrainTimesteps - 1) / (steps - 1) : 0;
      // np.linspace computes i·step and pins the last value to the end point.
      for (let i = 0; i < steps; i++) {
        out[steps - 1 - i] = roundHalfEven(i === steps - 1 && steps > 1 ? numTrainTimesteps - 1 : i * step);
      }
      return out;
    }
    case 'leading': {
      const ratio = Math.floor(numTrainTimesteps / steps);
      return Float64Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return arange(numTrainTimesteps, 0, -numTrainTimesteps / steps).map((t) => roundHalfEven(t) - 1);
  }
}

/** {@link spacedTimesteps} for `steps` steps as a config of DDIM, DDPM or PNDM spaces them, checking the step count. */
export function configTimesteps(
  config: BetaConfig & { readonly timestep_spacing: TimestepSpacing; readonly steps_offset: number },
  steps: number,
): Float64Array {
  checkStepCount(steps, config.num_train_timesteps);
  return spacedTimesteps(config.timestep_spacing, config.num_train_timesteps, steps, config.steps_offset);
}

/**
 * The integer-timestep spacing of the multistep solvers (DPM-Solver, UniPC, DEIS): `steps + 1` points of which
 * the last (timestep 0) is dropped, over [0, `lastTimestep`); `trailing` counts down from `lastTimestep`.
 */
export function solverTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  steps: number,
  stepsOffset: number,
  lastTimestep: number = numTrainTimesteps,
): Float64Array {
  switch (spacing) {
    case 'linspace': {
      const step = (lastTimestep - 1) / steps;
      // np.linspace(0, last − 1, steps + 1)[::-1][:-1]: index steps is pinned to last − 1.
      return Float64Array.from({ length: steps }, (_, i) => roundHalfEven(i === 0 ? lastTimestep - 1 : (steps - i) * step));
    }
    case 'leading': {
      const ratio = Math.floor(lastTimestep / (steps + 1));
      return Float64Array.from({ length: steps }, (_, i) => (steps - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return arange(lastTimestep, 0, -numTrainTimesteps / steps).map((t) => roundHalfEven(t) - 1);
  }
}

/**
 * diffusers' `index_for_timestep`: the position of `timestep` in `timesteps`, the second one when it occurs
 * more than once (so that img2img starting on a repeated timestep does not skip a sigma), or −1 if absent.
 */
export function findTimestepIndex(timesteps: Float64Array, timestep: number): number {
  const first = timesteps.indexOf(timestep);
  if (first < 0) return -1;
  const second = timesteps.indexOf(timestep, first + 1);
  return second < 0 ? first : second;
}

/** `alphas_cumprod[t]`, checking that `t` is a training timestep. */
export function alphaProdAt(alphasCumprod: Float32Array, timestep: number): number {
  const value = Number.isInteger(timestep) ? alphasCumprod[timestep] : undefined;
  if (value === undefined) {
    throw new RangeError(
      `Expected a timestep that is an integer in 0–${alphasCumprod.length - 1}, got ${timestep}`,
    );
  }
  return value;
}

/**
 * A prediction as a linear combination of the sample and the model output:
 * `prediction = sample·x + output·modelOutput` (every conversion between ε, v and x₀ is linear).
 */
export interface LinearCombination {
  readonly sample: number;
  readonly output: number;
}

/**
 * Coefficients of the clean-sample prediction x₀ from the model output at a noise level with signal scale
 * `alpha` (√ᾱ) and noise scale `sigma` (√(1 − ᾱ)).
 */
export function dataPrediction(type: PredictionType, alpha: number, sigma: number): LinearCombination {
  switch (type) {
    case 'epsilon':
      return { sample: 1 / alpha, output: -sigma / alpha };
    case 'v_prediction':
      return { sample: alpha, output: -sigma };
    case 'sample':
      return { sample: 0, output: 1 };
  }
}

/** Coefficients of the noise prediction ε from the model output, as {@link dataPrediction}. */
export function noisePrediction(type: PredictionType, alpha: number, sigma: number): LinearCombination {
  switch (type) {
    case 'epsilon':
      return { sample: 0, output: 1 };
    case 'v_prediction':
      return { sample: sigma, output: alpha };
    case 'sample':
      return { sample: 1 / sigma, output: -alpha / sigma };
  }
}

/** Writes `c.sample·sample + c.output·modelOutput` into `out` (which may be `sample`). */
export function applyCombination(
  out: Float32Array,
  c: LinearCombination,
  sample: Float32Array,
  modelOutput: Float32Array,
): void {
  const { sample: onSample, output: onOutput } = c;
  for (let i = 0; i < out.length; i++) out[i] = onSample * (sample[i] ?? 0) + onOutput * (modelOutput[i] ?? 0);
}

/**
 * diffusers' `add_noise` of the DDPM family: `√ᾱ_t·original + √(1 − ᾱ_t)·noise` with ᾱ at the integer
 * timestep, in float32 as torch computes it.
 */
export function addNoiseAtTimestep(
  alphasCumprod: Float32Array,
  original: Float32Array,
  noise: Float32Array,
  timestep: number,
): Float32Array {
  checkSameLength(original, noise);
  const alphaProd = alphaProdAt(alphasCumprod, timestep);
  const signal = Math.fround(Math.sqrt(alphaProd));
  const noiseScale = Math.fround(Math.sqrt(Math.fround(1 - alphaProd)));
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.fround(signal * (original[i] ?? 0)) + Math.fround(noiseScale * (noise[i] ?? 0));
  }
  return out;
}

/** Throws unless the two tensors have the same number of elements. */
export function checkSameLength(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) {
    throw new RangeError(`Expected tensors of the same size, got ${a.length} and ${b.length} elements`);
  }
}

/** Throws unless `steps` is a step count diffusers accepts for `trainSteps` training timesteps. */
export function checkStepCount(steps: number, trainSteps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
    throw new RangeError(`Expected \`numInferenceSteps\` to be an integer in 1–${trainSteps}, got ${steps}`);
  }
}

/** Throws unless `index` is a position in a list of `length` timesteps. */
export function checkIndex(index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`Expected a begin index in 0–${length - 1} (call setTimesteps first), got ${index}`);
  }
}
