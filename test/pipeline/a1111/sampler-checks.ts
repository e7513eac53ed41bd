// What the A1111 sampler tests share: the stand-in denoiser of the numpy transcriptions, and the batch check on
// the tiny model (A1111 draws each picture's noise from its own seed, so picture 2 of a batch is its seed alone).
import type { Denoiser } from '../../../src/pipeline/a1111/k-steps.js';
import type { EpsModel } from '../../../src/pipeline/a1111/timestep-samplers.js';
import type { GenerateRequest, StableDiffusionPipeline } from '../../../src/pipeline/index.js';
import { maxAbsDifference } from '../harness.js';

const f32 = Math.fround;

/** make_samplers.py's stand-in for the guided UNet, `(x + 0.2·sin x) / (1 + σ²)` in float32; records each σ. */
export function standInDenoiser(calls: number[]): Denoiser {
  return (x, sigma) => {
    calls.push(sigma);
    const scale = f32(1 + f32(sigma * sigma));
    return Promise.resolve(x.map((v) => f32(f32(v + f32(0.2 * f32(Math.sin(v)))) / scale)));
  };
}

/**
 * make_timesteps.py's stand-in guided model: uncond ε = x·√(1 − ᾱ_⌊t⌋), cond adds 0.2·cos x, guided at `cfg`
 * (the CFG scale × the sampler's multiplier, float32); records each timestep.
 */
export function standInEpsModel(calls: number[], cfg: number, alphasCumprod: Float32Array): EpsModel {
  return (x, t) => {
    calls.push(t);
    const scale = f32(Math.sqrt(f32(1 - (alphasCumprod[Math.trunc(t)] ?? NaN))));
    const uncond = x.map((v) => f32(v * scale));
    const eps = uncond.map((u, i) => {
      const cond = f32(u + f32(0.2 * f32(Math.cos(x[i] ?? 0))));
      return f32(u + f32(f32(cond - u) * cfg));
    });
    return Promise.resolve({ eps, uncond });
  };
}

/**
 * Draws `request` as a batch of two from seed 5, and alone from seed 6 (with `alone`'s changes): the progress
 * reports of the batch (`[calls, total]`) and the largest difference between its picture 2 and the lone picture.
 */
export async function secondPictureAlone(
  pipeline: StableDiffusionPipeline,
  request: GenerateRequest,
  alone: Partial<GenerateRequest> = {},
): Promise<{ progress: [number, number][]; difference: number }> {
  const progress: [number, number][] = [];
  const batch = await pipeline.generate({ ...request, seed: 5, count: 2 }, { onProgress: (done, total) => progress.push([done, total]) });
  const single = await pipeline.generate({ ...request, seed: 6, ...alone });
  const difference = maxAbsDifference(batch.images[1]?.image.data ?? new Float32Array(), single.images[0]?.image.data ?? new Float32Array());
  return { progress, difference };
}
