// k-diffusion's `DiscreteSchedule` as `CompVisDenoiser` uses it for SD 1.x/2.x epsilon models (the A1111 pin,
// crowsonkb/k-diffusion ab527a9): the 1000 training noise levels σ_t = √((1 − ᾱ_t)/ᾱ_t), and the maps between
// a noise level and a fractional timestep by interpolating log σ. A1111 builds every k-diffusion schedule from it.
import { linspaceF64, zeroTerminalSnrAlphasBar } from '../schedulers/schedule.js';

const f32 = Math.fround;

/** The beta schedule keys of a model's scheduler config that fix ᾱ (ldm's `register_schedule`). */
export interface TrainingScheduleConfig {
  readonly beta_start: number;
  readonly beta_end: number;
  readonly num_train_timesteps: number;
  readonly beta_schedule: string;
}

/**
 * ldm's `alphas_cumprod`: betas `linspace(√start, √end, T)²` and their cumulative product of `1 − β` in float64,
 * stored as float32 (diffusers computes it in float32, which differs in the last bits).
 * @throws {RangeError} for a beta schedule other than `scaled_linear` or `linear`.
 */
export function ldmAlphasCumprod(config: TrainingScheduleConfig): Float32Array {
  const { beta_start: start, beta_end: end, num_train_timesteps: steps, beta_schedule: schedule } = config;
  const betas =
    schedule === 'scaled_linear'
      ? linspaceF64(Math.sqrt(start), Math.sqrt(end), steps).map((b) => b * b)
      : schedule === 'linear'
        ? linspaceF64(start, end, steps)
        : undefined;
  if (betas === undefined) throw new RangeError(`A1111 sampling needs a linear or scaled_linear beta schedule, got ${schedule}`);
  const out = new Float32Array(steps);
  let product = 1;
  betas.forEach((beta, i) => {
    product *= 1 - beta;
    out[i] = product;
  });
  return out;
}

/**
 * A k-diffusion denoiser wrapper of A1111's (`CompVisDenoiser`, or LCM's `LCMCompVisDenoiser`): its training
 * noise levels, its maps between a level and a UNet timestep, and what a UNet row's ε makes at a level.
 */
export interface NoiseLevels {
  /** σ ascending in t (the wrapper's `sigmas`). */
  readonly sigmas: Float32Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  sigmaToT(sigma: number): number;
  tToSigma(t: number): number;
  /** `get_sigmas(n)`: the wrapper's own schedule of `n` levels, then 0 (A1111's Uniform). */
  uniform(n: number): Float64Array;
  /** The denoiser's output for the latent value `x` and the UNet's ε at `sigma` (float32). */
  denoised(x: number, eps: number, sigma: number): number;
}

/** `CompVisDenoiser`'s noise levels and its sigma ↔ timestep maps (float32 like torch). */
export class CompVisSchedule implements NoiseLevels {
  /** What the UNet predicts: A1111 picks its denoiser wrappers by it (`parameterization`). */
  readonly prediction: 'epsilon' | 'v_prediction' = 'epsilon';
  /** σ_t ascending in t. */
  readonly sigmas: Float32Array;
  /** `sigmas.log()` (float32 values). */
  readonly logSigmas: Float32Array;

  /** The ᾱ of its levels (ldm's `alphas_cumprod`, float32, for `CompVisDenoiser`), which A1111's timestep samplers read. */
  readonly alphasCumprod: Float32Array;

  constructor(alphasCumprod: Float32Array) {
    this.alphasCumprod = alphasCumprod;
    this.sigmas = alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
    this.logSigmas = this.sigmas.map((s) => Math.log(s));
  }

  /** The smallest training noise level (`sigmas[0]`, A1111's `m_sigma_min`). */
  get sigmaMin(): number {
    return this.sigmas[0] ?? NaN;
  }

  /** The largest (`sigmas[-1]`, A1111's `m_sigma_max`). */
  get sigmaMax(): number {
    return this.sigmas[this.sigmas.length - 1] ?? NaN;
  }

  /**
   * `sigma_to_t`: the fractional timestep whose interpolated log σ is `log(sigma)` (clamped to the table), float32.
   * The UNet is called at this timestep.
   */
  sigmaToT(sigma: number): number {
    const logSigma = f32(Math.log(sigma));
    const last = this.logSigmas.length - 2;
    let low = 0;
    for (let i = 0; i < this.logSigmas.length; i++) if (f32(logSigma - (this.logSigmas[i] ?? 0)) >= 0) low = i;
    low = Math.min(low, last);
    const lowLog = this.logSigmas[low] ?? NaN;
    const highLog = this.logSigmas[low + 1] ?? NaN;
    const w = Math.min(Math.max(f32(f32(lowLog - logSigma) / f32(lowLog - highLog)), 0), 1);
    return f32(f32(f32(1 - w) * low) + f32(w * (low + 1)));
  }

  /** `t_to_sigma`: exp of log σ interpolated linearly between the neighbouring integer timesteps, float32. */
  tToSigma(t: number): number {
    const tf = f32(t);
    const low = Math.floor(tf);
    const high = Math.ceil(tf);
    const w = f32(tf - low);
    const logSigma = f32(f32(f32(1 - w) * (this.logSigmas[low] ?? NaN)) + f32(w * (this.logSigmas[high] ?? NaN)));
    return f32(Math.exp(logSigma));
  }

  /** `get_sigmas(n)`: `n` levels at t = `linspace(T − 1, 0, n)`, then 0 (A1111's Uniform schedule). */
  uniform(n: number): Float64Array {
    return withZero(linspaceF32(this.sigmas.length - 1, 0, n).map((t) => this.tToSigma(t)));
  }

  /** `x − σ·ε`. */
  denoised(x: number, eps: number, sigma: number): number {
    return f32(x + f32(eps * -sigma));
  }
}

/**
 * k-diffusion's `CompVisVDenoiser` (`DiscreteVDDPMDenoiser`, σ_data 1), which A1111 runs for v-prediction models:
 * the same levels and input scaling, the UNet's v turned into an x₀ estimate `v·c_out + x·c_skip`.
 */
export class CompVisVSchedule extends CompVisSchedule {
  override readonly prediction = 'v_prediction';

  /** `v·c_out + x·c_skip`, c_skip = 1/(σ² + 1), c_out = −σ/√(σ² + 1) (float32 like torch). */
  override denoised(x: number, v: number, sigma: number): number {
    const square = f32(f32(sigma * sigma) + 1);
    const cSkip = f32(1 / square);
    const cOut = f32(-sigma / f32(Math.sqrt(square)));
    return f32(f32(v * cOut) + f32(x * cSkip));
  }
}

/**
 * A1111's `rescale_zero_terminal_snr_abar` (modules/sd_models.py, its "Zero Terminal SNR" noise schedule): ᾱ
 * rescaled as diffusers' does it, then the last one set to 4.8973451890853435e-08 (not 0), so that its σ stays
 * finite (about 4519 for SD's schedule).
 */
export function rescaleZeroTerminalSnr(alphasCumprod: Float32Array): Float32Array {
  const out = zeroTerminalSnrAlphasBar(alphasCumprod);
  out[out.length - 1] = 4.8973451890853435e-8;
  return out;
}

/** `torch.linspace(start, end, n)` in float32: torch fills the first half from `start`, the second from `end`. */
export function linspaceF32(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = f32(start);
    return out;
  }
  const step = f32(f32(end - start) / (n - 1));
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? f32(start + f32(step * i)) : f32(end - f32(step * (n - 1 - i)));
  return out;
}

/** k-diffusion's `append_zero`. */
export function withZero(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length + 1);
  out.set(Array.from(values, f32));
  return out;
}
