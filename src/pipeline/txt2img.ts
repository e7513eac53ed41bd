import { LATENT_CHANNELS } from './models/unet.js';
import { denoise, scaleInPlace, type Job } from './steps.js';

/**
 * Text to image, diffusers' `StableDiffusionPipeline.__call__` from its step 4.
 * @returns the final latents `[count, 4, h, w]`.
 */
export async function txt2img(job: Job): Promise<Float32Array> {
  const { scheduler, request, noise, latentWidth, latentHeight } = job;

  // 1. Timesteps.
  scheduler.setTimesteps(request.steps);

  // 2. Initial latents: one draw for the whole batch, scaled to the scheduler's first noise level.
  const shape = [request.count, LATENT_CHANNELS, latentHeight, latentWidth];
  const latents = scaleInPlace(noise.generator.randn(shape), scheduler.initNoiseSigma);

  // 3. Denoise.
  await denoise(job, latents, scheduler.timesteps);
  return latents;
}
