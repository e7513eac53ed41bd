/**
 * Pieces shared by the k-diffusion samplers that diffusers runs over the discrete sigma schedule
 * σ_t = √((1 − ᾱ_t) / ᾱ_t): Euler, Euler ancestral, LMS, Heun, DPM2 and DPM2 ancestral (the step-index
 * bookkeeping, the Karras config keys and `buffer` serve the other samplers too). Each function reproduces the
 * numpy (float64) or torch (float32) expression of diffusers, as noted.
 */
import { booleanField, fixedField } from './config.js';
import { checkSameLength, findTimestepIndex, spacedTimesteps, type PredictionType, type TimestepSpacing } from './discrete.js';
import { interpAtIndex, karrasSigmas, linspaceF64, logF32, sigmaToT, trainingSigmas } from './schedule.js';

const f32 = Math.fround;

/**
 * The config keys of the Karras option (all these classes but Euler ancestral): `use_karras_sigmas`, and the
 * exponential / beta sigma schedules dreamcord does not implement (they must stay false).
 */
export function karrasFields() {
  return {
    use_karras_sigmas: booleanField(false),
    use_exponential_sigmas: fixedField(false),
    use_beta_sigmas: fixedField(false),
  } as const;
}

/** The training schedule as these samplers use it: σ_t ascending in t (float32) and `np.log` of it. */
export interface TrainingSigmas {
  readonly sigmas: Float32Array;
  readonly logSigmas: Float64Array;
}

/** {@link TrainingSigmas} of `alphas_cumprod`. */
export function trainingSigmasOf(alphasCumprod: Float32Array): TrainingSigmas {
  const sigmas = trainingSigmas(alphasCumprod);
  return { sigmas, logSigmas: logF32(sigmas) };
}

/** How `setTimesteps` spaces the noise levels. */
export interface SigmaScheduleOptions {
  readonly spacing: TimestepSpacing;
  readonly numTrainTimesteps: number;
  readonly stepsOffset: number;
  /** Karras et al. noise levels between these bounds (null: the schedule's own ends), or null for none. */
  readonly karras: { readonly sigmaMin: number | null; readonly sigmaMax: number | null } | null;
}

/**
 * The `steps` timesteps and noise levels of `set_timesteps`, both still float64 as numpy has them before
 * diffusers casts them to float32 (and before the final sigma is appended). `linspace` timesteps are
 * fractional float32 values; with Karras sigmas the timesteps are those of the new noise levels.
 */
export function sigmaSchedule(
  training: TrainingSigmas,
  steps: number,
  options: SigmaScheduleOptions,
): { readonly timesteps: Float64Array; readonly sigmas: Float64Array } {
  const { spacing, numTrainTimesteps, stepsOffset, karras } = options;
  const timesteps =
    spacing === 'linspace'
      ? Float64Array.from(linspaceF64(0, numTrainTimesteps - 1, steps), f32).reverse()
      : spacedTimesteps(spacing, numTrainTimesteps, steps, stepsOffset);
  const sigmas = timesteps.map((t) => interpAtIndex(t, training.sigmas));
  if (karras === null) return { timesteps, sigmas };
  const karrasLevels = karrasSigmas(
    karras.sigmaMin ?? sigmas[sigmas.length - 1] ?? NaN,
    karras.sigmaMax ?? sigmas[0] ?? NaN,
    steps,
  );
  return { timesteps: karrasLevels.map((s) => sigmaToT(s, training.logSigmas)), sigmas: karrasLevels };
}

/**
 * `values` with each element of the index range [`from`, `to`) repeated twice in place, as the second-order
 * samplers lay out their levels with `torch.cat([v[:from], v[from:to].repeat_interleave(2), v[to:]])`.
 */
export function repeatInterior(values: Float64Array, from: number, to: number): Float64Array {
  const out = new Float64Array(values.length + Math.max(to - from, 0));
  let j = 0;
  values.forEach((v, i) => {
    out[j++] = v;
    if (i >= from && i < to) out[j++] = v;
  });
  return out;
}

/**
 * The layout of DPM2's per-call arrays: the first value once, every later one twice (predictor, corrector),
 * the last once more, like `torch.cat([v[:1], v[1:].repeat_interleave(2), v[-1:]])`.
 */
export function dpm2Layout(values: Float64Array): Float64Array {
  const withLast = new Float64Array(values.length + 1);
  withLast.set(values);
  withLast[values.length] = values[values.length - 1] ?? NaN;
  return repeatInterior(withLast, 1, values.length);
}

/**
 * The noise level halfway between `a` and `b` in log space, `exp(lerp(log a, log b, 0.5))` in float32 like
 * torch (whose lerp computes `b − (b − a)·0.5` at weight 0.5; a zero level makes it NaN or 0 as in torch).
 */
export function logMidpoint(a: number, b: number): number {
  const logA = f32(Math.log(a));
  const logB = f32(Math.log(b));
  return f32(Math.exp(f32(logB - f32(f32(logB - logA) * 0.5))));
}

/**
 * The standard deviation of the initial noise: the largest sigma, or √(σ_max² + 1) for `leading` spacing,
 * whose first timestep is below the last training one (float32 like diffusers' tensor math).
 */
export function initNoiseSigmaOf(sigmas: Float64Array, spacing: TimestepSpacing): number {
  let max = 0;
  for (const s of sigmas) max = Math.max(max, s);
  return spacing === 'leading' ? f32(Math.sqrt(f32(f32(max * max) + 1))) : max;
}

/** `sample / (σ² + 1) ** 0.5` into `out` (float32 like torch), which is returned. */
export function scaleBySigma(sample: Float32Array, sigma: number, out: Float32Array): Float32Array {
  const scale = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
  for (let i = 0; i < sample.length; i++) out[i] = (sample[i] ?? 0) / scale;
  return out;
}

/** `original + noise·σ` in float32: the sigma samplers' `add_noise`. */
export function addNoiseBySigma(original: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  checkSameLength(original, noise);
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = (original[i] ?? 0) + f32((noise[i] ?? 0) * sigma);
  return out;
}

/** The constants of the denoised estimate x₀ at one noise level (k-diffusion's `c_skip`/`c_out`), float32. */
export interface NoiseLevel {
  readonly sigma: number;
  /** σ² + 1, which divides the sample for v-prediction. */
  readonly sigmaSqPlus1: number;
  /** −σ/√(σ²+1), the v-prediction factor of the model output. */
  readonly outScale: number;
}

/** The {@link NoiseLevel} constants of `sigma`. */
export function noiseLevel(sigma: number): NoiseLevel {
  const sigmaSqPlus1 = f32(f32(sigma * sigma) + 1);
  return { sigma, sigmaSqPlus1, outScale: f32(-sigma / f32(Math.sqrt(sigmaSqPlus1))) };
}

/** The denoised estimate x₀ of one element from the sample `x` and the model output `m` at a noise level. */
export type Denoise = (level: NoiseLevel, x: number, m: number) => number;

// One plain function per prediction type, chosen once per step: the per-element call then has a single
// target that V8 inlines (a switch per element or a new closure per step costs twice the time).
const DENOISE: { readonly [T in PredictionType]: Denoise } = {
  epsilon: (level, x, m) => f32(x - f32(level.sigma * m)),
  v_prediction: (level, x, m) => f32(f32(m * level.outScale) + f32(x / level.sigmaSqPlus1)),
  sample: (_level, _x, m) => m,
};

/**
 * The x₀ estimate for a prediction type, float32 like diffusers: ε → x − σ·m; v → m·(−σ/√(σ²+1)) + x/(σ²+1);
 * sample → m.
 */
export function denoiseFor(type: PredictionType): Denoise {
  return DENOISE[type];
}

/**
 * The ancestral step from `from` to `to` (η = 1): the deterministic part goes to σ_down, fresh noise of
 * σ_up restores the level `to` (σ_down² + σ_up² = to²). Float32 like diffusers' tensor math.
 */
export function ancestralSplit(from: number, to: number): { readonly up: number; readonly down: number } {
  const fromSq = f32(from * from);
  const toSq = f32(to * to);
  const up = f32(Math.sqrt(f32(f32(toSq * f32(fromSq - toSq)) / fromSq)));
  const down = f32(Math.sqrt(f32(toSq - f32(up * up))));
  return { up, down };
}

/**
 * Where the step counter of these samplers starts (diffusers' `_init_step_index`): the begin index if the
 * pipeline set one, else the position of the first timestep the loop passes.
 */
export function startIndex(timesteps: Float64Array, beginIndex: number | null, timestep: number): number {
  if (beginIndex !== null) return beginIndex;
  const index = findTimestepIndex(timesteps, timestep);
  if (index < 0) throw new RangeError(`Expected one of the scheduler's timesteps, got ${timestep}`);
  return index;
}

/**
 * The sigma index `add_noise` uses: the current step once stepping started (inpainting), else the begin
 * index (img2img), else the position of `timestep`.
 */
export function noiseIndex(
  timesteps: Float64Array,
  beginIndex: number | null,
  stepIndex: number | null,
  timestep: number,
): number {
  return beginIndex === null ? startIndex(timesteps, null, timestep) : (stepIndex ?? beginIndex);
}

/** `sigmas[index]` (or any per-call array), throwing when a loop runs past the schedule. */
export function sigmaAt(sigmas: Float64Array, index: number): number {
  const sigma = sigmas[index];
  if (sigma === undefined) {
    throw new RangeError(`Expected a model call within the ${sigmas.length}-level schedule, got call ${index}`);
  }
  return sigma;
}

/**
 * A float32 buffer of `length` elements that a sampler keeps between calls: `current` when it already has
 * that length, else a new one (the latent size is fixed for a job, so this allocates once).
 */
export function buffer(current: Float32Array | undefined, length: number): Float32Array {
  return current?.length === length ? current : new Float32Array(length);
}
