// A1111's own samplers over integer UNet timesteps (modules/sd_samplers_timesteps.py and
// sd_samplers_timesteps_impl.py, v1.10.1): DDIM, DDIM CFG++ and PLMS. Their model is A1111's
// `CompVisTimestepsDenoiser`: the UNet's guided noise prediction at timestep t for the unscaled latents. They walk
// `get_timesteps` from its end to its second entry, so they make one call fewer than the timesteps (PLMS: its
// first step calls twice). Tensor arithmetic is float32 like torch's.
import { img2imgSteps, type Img2imgPass } from './img2img-steps.js';
import type { SchedulerId } from '../schedulers/index.js';
import type { NoiseSource } from './k-steps.js';
import { sampleUniPC } from './unipc.js';

const f32 = Math.fround;

/** A guided noise prediction: `eps` per image, and the negative prompt's own rows (`last_noise_uncond`). */
export interface GuidedEps {
  readonly eps: Float32Array;
  readonly uncond: Float32Array;
}

/** A1111's guided `CompVisTimestepsDenoiser`: the guided ε of `x` at UNet timestep `t`. */
export type EpsModel = (x: Float32Array, t: number) => Promise<GuidedEps>;

/** Denoises `x` over `timesteps` (`img2img`: the part of the table below the init image's noise level). */
type TimestepSample = (
  model: EpsModel,
  x: Float32Array,
  timesteps: readonly number[],
  noise: NoiseSource,
  alphasCumprod: Float32Array,
  img2img: boolean,
) => Promise<Float32Array>;

/** One A1111 sampler of the timesteps family. */
export interface TimestepSampler {
  readonly family: 'timesteps';
  /** A1111's name, as its infotext writes it. */
  readonly name: string;
  /** Multiplies the CFG scale (`cond_scale_miltiplier`): 1, or 1/12.5 for DDIM CFG++. */
  readonly cfgMultiplier: number;
  /** The denoiser calls `sample` makes over `timesteps`. */
  readonly modelCalls: (timesteps: readonly number[]) => number;
  readonly sample: TimestepSample;
}

/** `CompVisSampler.get_timesteps`: `range(0, 1000, 1000 // steps) + 1`, clipped to 0–999 (not always `steps` long). */
export function a1111Timesteps(steps: number): number[] {
  const stride = Math.floor(1000 / steps);
  const out: number[] = [];
  for (let t = 0; t < 1000; t += stride) out.push(Math.min(t + 1, 999));
  return out;
}

/**
 * A1111's `sample_img2img` timesteps: `get_timesteps(steps)[:t_enc]` with `setup_img2img_steps`' `steps` and
 * `t_enc`, and the timestep the init image is noised to, `get_timesteps(steps)[t_enc]`; txt2img walks all of them.
 */
export function walkedTimesteps(request: Img2imgPass & { readonly kind: string }): {
  timesteps: number[];
  noisedAt?: number;
} {
  if (request.kind === 'txt2img') return { timesteps: a1111Timesteps(request.steps) };
  const { steps, tEnc } = img2imgSteps(request);
  const timesteps = a1111Timesteps(steps);
  return { timesteps: timesteps.slice(0, tEnc), noisedAt: timesteps[tEnc] };
}

/** The ᾱ of each step and of the step it goes to, as the samplers index them (`alphas`, `alphas_prev`). */
function stepAlphas(alphasCumprod: Float32Array, timesteps: readonly number[], index: number): { readonly at: number; readonly previous: number } {
  return { at: alphasCumprod[timesteps[index] ?? 0] ?? NaN, previous: alphasCumprod[index === 0 ? 0 : (timesteps[index - 1] ?? 0)] ?? NaN };
}

/**
 * The DDIM update from ᾱ `at` to ᾱ `previous` with eta 0 (A1111's `eta_ddim`): `√ᾱ′·x̂₀ + √(1 − ᾱ′)·direction`,
 * `x̂₀ = (x − √(1 − ᾱ)·ε) / √ᾱ`.
 */
function ddimUpdate(x: Float32Array, eps: Float32Array, direction: Float32Array, at: number, previous: number): Float32Array {
  const sqrtOneMinusAt = f32(Math.sqrt(f32(1 - at)));
  const sqrtAt = f32(Math.sqrt(at));
  const sqrtPrevious = f32(Math.sqrt(previous));
  const directionScale = f32(Math.sqrt(f32(1 - previous)));
  return x.map((v, i) => {
    const predX0 = f32(f32(v - f32(sqrtOneMinusAt * (eps[i] ?? 0))) / sqrtAt);
    return f32(f32(sqrtPrevious * predX0) + f32(directionScale * (direction[i] ?? 0)));
  });
}

/**
 * `ddim` (`cfgpp` false) and `ddim_cfgpp`: CFG++ points the update along the negative prompt's ε instead of the
 * guided one. Each step draws `σ_t · randn_like(x)` with σ_t = 0 (eta 0): a draw of the image generators that
 * adds nothing.
 */
function ddim(cfgpp: boolean): TimestepSample {
  return async (model, start, timesteps, noise, alphasCumprod) => {
    let x = start;
    for (let index = timesteps.length - 1; index > 0; index--) {
      const { eps, uncond } = await model(x, timesteps[index] ?? NaN);
      const { at, previous } = stepAlphas(alphasCumprod, timesteps, index);
      noise();
      x = ddimUpdate(x, eps, cfgpp ? uncond : eps, at, previous);
    }
    return x;
  };
}

/** PLMS's ε′ from the current ε and up to three earlier ones (newest first): Adams–Bashforth of order 2–4. */
function multistepEps(eps: Float32Array, old: readonly Float32Array[]): Float32Array {
  const [o1, o2, o3] = old;
  if (o3 && o2 && o1) {
    return eps.map((e, i) => f32(f32(f32(f32(f32(55 * e) - f32(59 * (o1[i] ?? 0))) + f32(37 * (o2[i] ?? 0))) - f32(9 * (o3[i] ?? 0))) / 24));
  }
  if (o2 && o1) return eps.map((e, i) => f32(f32(f32(f32(23 * e) - f32(16 * (o1[i] ?? 0))) + f32(5 * (o2[i] ?? 0))) / 12));
  if (o1) return eps.map((e, i) => f32(f32(f32(3 * e) - (o1[i] ?? 0)) / 2));
  return eps;
}

/** `plms`: the first step is a pseudo improved Euler step (a second call at the next timestep), then multistep. */
const plms: TimestepSample = async (model, start, timesteps, _noise, alphasCumprod) => {
  let x = start;
  const old: Float32Array[] = [];
  for (let index = timesteps.length - 1; index > 0; index--) {
    const { at, previous } = stepAlphas(alphasCumprod, timesteps, index);
    const { eps } = await model(x, timesteps[index] ?? NaN);
    let prime = multistepEps(eps, old);
    if (old.length === 0) {
      const predicted = ddimUpdate(x, eps, eps, at, previous);
      const { eps: next } = await model(predicted, timesteps[Math.max(index - 1, 0)] ?? NaN);
      prime = eps.map((e, i) => f32(f32(e + (next[i] ?? 0)) / 2));
    }
    x = ddimUpdate(x, prime, prime, at, previous);
    old.unshift(eps);
    if (old.length > 3) old.pop();
  }
  return x;
};

const stepsWalked = (timesteps: readonly number[]): number => Math.max(timesteps.length - 1, 0);

/** A1111's timestep samplers by their sampler id (PLMS is diffusers' `pndm`). */
const TIMESTEP_SAMPLERS: Partial<Record<SchedulerId, TimestepSampler>> = {
  ddim: { family: 'timesteps', name: 'DDIM', cfgMultiplier: 1, modelCalls: stepsWalked, sample: ddim(false) },
  ddim_cfgpp: { family: 'timesteps', name: 'DDIM CFG++', cfgMultiplier: 1 / 12.5, modelCalls: stepsWalked, sample: ddim(true) },
  pndm: {
    family: 'timesteps',
    name: 'PLMS',
    cfgMultiplier: 1,
    modelCalls: (timesteps) => (timesteps.length > 1 ? timesteps.length : 0),
    sample: plms,
  },
  unipc: {
    family: 'timesteps',
    name: 'UniPC',
    cfgMultiplier: 1,
    modelCalls: (timesteps) => timesteps.length,
    sample: (model, x, timesteps, _noise, alphasCumprod, img2img) => sampleUniPC(model, x, timesteps, img2img, alphasCumprod),
  },
};

/** The A1111 timestep sampler of a sampler id, or undefined when it is not one of them. */
export function timestepSamplerFor(id: SchedulerId): TimestepSampler | undefined {
  return TIMESTEP_SAMPLERS[id];
}
