// The pieces k-diffusion's samplers share (k_diffusion/sampling.py at A1111's pin ab527a9): the denoiser and
// noise they are given, `to_d`, and the Euler and Heun steps. Tensor arithmetic is float32 like torch's.
const f32 = Math.fround;

/** The guided denoiser: x₀ estimated from `x` at noise level `sigma` (a new array). */
export type Denoiser = (x: Float32Array, sigma: number) => Promise<Float32Array>;

/**
 * The sampler's `torch.randn_like(x)`, which A1111 replaces with the next draw of each image's generator
 * (`TorchHijack`). Deterministic samplers (Euler, Heun, DPM2) draw an `eps` at every step that they never use
 * when `s_churn` is 0 (A1111's default); it changes no result, so they do not draw it here.
 */
export type NoiseSource = () => Float32Array;

/** `(x − denoised) / σ`, k-diffusion's `to_d`. */
export function derivative(x: Float32Array, denoised: Float32Array, sigma: number): Float32Array {
  return x.map((v, i) => f32(f32(v - (denoised[i] ?? 0)) / sigma));
}

/** `x + d · dt` in place. */
export function addScaled(x: Float32Array, d: Float32Array, dt: number): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i] ?? 0) + f32((d[i] ?? 0) * dt);
}

/**
 * One step of `sample_heun` (and of A1111's Restart) from `sigma` to `next` in place: Euler where `next` is 0,
 * otherwise Heun's average of the slopes at both ends (two denoiser calls).
 */
export async function heunStep(model: Denoiser, x: Float32Array, sigma: number, next: number): Promise<void> {
  const d = derivative(x, await model(x, sigma), sigma);
  const dt = f32(next - sigma);
  if (next === 0) {
    addScaled(x, d, dt);
    return;
  }
  const x2 = x.slice();
  addScaled(x2, d, dt);
  const d2 = derivative(x2, await model(x2, next), next);
  for (let j = 0; j < x.length; j++) x[j] = (x[j] ?? 0) + f32(f32(f32((d[j] ?? 0) + (d2[j] ?? 0)) / 2) * dt);
}

/** What some samplers take besides the sigmas (`KDiffusionSampler.sample`'s extra arguments). */
export interface SampleContext {
  /**
   * The noise levels DPM fast and DPM adaptive integrate between (they take bounds, not a schedule): for txt2img
   * the model's smallest and largest training σ, for img2img the schedule's first level and the one before its
   * final 0.
   */
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  /** The SDE samplers' Brownian noise from σ to σ_next (`BrownianTreeNoiseSampler`), per picture, stacked. */
  readonly brownian: (sigma: number, next: number) => Float32Array;
}

/** A k-diffusion sampler function: denoises `x` (the sampler may work in place) over `sigmas`. */
export type Sample = (model: Denoiser, x: Float32Array, sigmas: Float64Array, noise: NoiseSource, context: SampleContext) => Promise<Float32Array>;
