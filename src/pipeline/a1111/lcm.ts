// A1111's "LCM" (modules/sd_samplers_lcm.py, v1.10.1): a k-diffusion sampler over `LCMCompVisDenoiser`, whose
// noise levels are 50 of the model's 1000 (t = 19, 39, …, 999, LCM's original 50 steps), whose UNet timestep is
// the nearest level's, and whose output is LCM's consistency parametrization `c_out·(x − σ·ε) + c_skip·x`.
import { CompVisSchedule, linspaceF32, withZero } from './compvis.js';
import type { Sample } from './k-steps.js';

const f32 = Math.fround;

/** LCM's original timesteps, and the stride between its levels on the 1000 training steps. */
const ORIGINAL_STEPS = 50;

/**
 * `LCMCompVisDenoiser`: k-diffusion's discrete schedule over LCM's 50 levels (so σ_min, σ_max and `sigmas` are
 * theirs), with LCM's own timestep maps and output (float32 like torch).
 */
export class LcmNoiseLevels extends CompVisSchedule {
  readonly #skip: number;

  /** @param alphasCumprod - the model's ᾱ over its training steps. */
  constructor(alphasCumprod: Float32Array) {
    const total = alphasCumprod.length;
    const skip = Math.floor(total / ORIGINAL_STEPS);
    super(Float32Array.from({ length: ORIGINAL_STEPS }, (_, i) => alphasCumprod[total - 1 - (ORIGINAL_STEPS - 1 - i) * skip] ?? NaN));
    this.#skip = skip;
  }

  /** The timestep of the level nearest `sigma` in log σ: `argmin · skip + skip − 1` (an integer). */
  override sigmaToT(sigma: number): number {
    const logSigma = f32(Math.log(sigma));
    let nearest = 0;
    this.logSigmas.forEach((level, i) => {
      if (Math.abs(f32(logSigma - level)) < Math.abs(f32(logSigma - (this.logSigmas[nearest] ?? NaN)))) nearest = i;
    });
    return nearest * this.#skip + (this.#skip - 1);
  }

  /** σ at timestep `t`: between the levels, by log σ, with `t` clamped to theirs. */
  override tToSigma(t: number): number {
    const level = Math.min(Math.max(f32(f32(t - (this.#skip - 1)) / this.#skip), 0), this.sigmas.length - 1);
    return super.tToSigma(level);
  }

  /** `get_sigmas(n)`: `n` levels at t = `linspace(999, 19, n)`, then 0. */
  override uniform(n: number): Float64Array {
    return withZero(linspaceF32(this.sigmaToT(this.sigmaMax), this.sigmaToT(this.sigmaMin), n).map((t) => this.tToSigma(t)));
  }

  /** `get_scaled_out(σ, x − σ·ε, x)` with σ_data 0.5 and the scaled timestep `10·t(σ)`. */
  override denoised(x: number, eps: number, sigma: number): number {
    const scaled = f32(this.sigmaToT(sigma) * 10);
    const squared = f32(f32(scaled * scaled) + 0.25);
    const cSkip = f32(0.25 / squared);
    const cOut = f32(scaled / f32(Math.sqrt(squared)));
    return f32(f32(cOut * f32(x + f32(eps * -sigma))) + f32(cSkip * x));
  }
}

/** `sample_lcm`: each step takes the denoiser's output, and adds fresh noise at the next level while it is above 0. */
export const sampleLcm: Sample = async (model, start, sigmas, noise) => {
  let x = start;
  for (let i = 0; i < sigmas.length - 1; i++) {
    x = await model(x, sigmas[i] ?? NaN);
    const next = sigmas[i + 1] ?? 0;
    if (next > 0) {
      const drawn = noise();
      x = x.map((v, j) => f32(v + f32(next * (drawn[j] ?? 0))));
    }
  }
  return x;
};
