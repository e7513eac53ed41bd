import { toModelTensor } from './image/index.js';
import { LATENT_CHANNELS } from './models/unet.js';
import { img2imgTimesteps } from './schedulers/index.js';
import { denoise, encodeImage, type Job } from './steps.js';

/**
 * Image to image, diffusers' `StableDiffusionImg2ImgPipeline.__call__` from its step 4: the init image's
 * latents, noised to the level where the last `⌊steps · strength⌋` steps begin, then denoised.
 * @returns the final latents `[count, 4, h, w]`.
 */
export async function img2img(job: Job): Promise<Float32Array> {
  if (!job.request.initImage) throw new TypeError('img2img needs an init image');
  // The init image's latents (a sample of the VAE encoder's distribution).
  const imageLatents = await encodeImage(job, toModelTensor(job.request.initImage));
  return img2imgFromLatents(job, imageLatents);
}

/**
 * The denoising part of img2img, from latents already made (the init image's, or a hires fix's upscaled first pass).
 * @param imageLatents - `[count, 4, h, w]`, scaled by the VAE factor.
 * @returns the final latents `[count, 4, h, w]`.
 */
export async function img2imgFromLatents(job: Job, imageLatents: Float32Array): Promise<Float32Array> {
  const { scheduler, request, noise, latentWidth, latentHeight } = job;

  // 1. Timesteps: the last ⌊steps · strength⌋ of the schedule.
  const { timesteps, firstTimestep } = img2imgTimesteps(scheduler, request.steps, request.strength);

  // 2. Noise the latents to the first remaining timestep.
  const shape = [request.count, LATENT_CHANNELS, latentHeight, latentWidth];
  const latents = scheduler.addNoise(imageLatents, noise.generator.randn(shape), firstTimestep);

  // 3. Denoise.
  await denoise(job, latents, timesteps);
  return latents;
}
