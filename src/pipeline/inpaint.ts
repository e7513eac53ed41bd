import { applyMaskToImage, maskToLatent, toModelTensor } from './image/index.js';
import { LATENT_CHANNELS } from './models/unet.js';
import { img2imgTimesteps, type Scheduler } from './schedulers/index.js';
import { denoise, encodeImage, scaleInPlace, type DenoiseOptions, type Job } from './steps.js';

/**
 * Inpainting, diffusers' `StableDiffusionInpaintPipeline.__call__` from its step 4, for both kinds of UNet:
 * - an inpainting UNet (9 input channels) sees the mask and the masked image's latents at every step;
 * - a regular UNet (4 channels, "legacy" inpainting) denoises everything, and after each step the region to
 *   keep is put back from the image's latents, noised to the next step's level.
 * @returns the final latents `[count, 4, h, w]`.
 */
export async function inpaint(job: Job): Promise<Float32Array> {
  const { model, scheduler, request, noise, latentWidth, latentHeight } = job;
  const { initImage, mask } = request;
  if (!initImage || !mask) throw new TypeError('inpainting needs an init image and a mask');
  const inpaintingUnet = model.unet.inChannels === 9;
  const fromNoise = request.strength === 1;

  // 1. Timesteps: the last ⌊steps · strength⌋ of the schedule (all of them at strength 1).
  const { timesteps, firstTimestep } = img2imgTimesteps(scheduler, request.steps, request.strength);

  // 2. The image's latents: to start from (strength < 1), and for a regular UNet to restore the kept region.
  const image = toModelTensor(initImage);
  const imageLatents = !fromNoise || !inpaintingUnet ? await encodeImage(job, image) : undefined;

  // 3. Initial latents: pure noise at strength 1, else the image's latents noised to the first timestep.
  const shape = [request.count, LATENT_CHANNELS, latentHeight, latentWidth];
  const initialNoise = noise.generator.randn(shape);
  const latents =
    imageLatents && !fromNoise
      ? scheduler.addNoise(imageLatents, initialNoise, firstTimestep)
      : scaleInPlace(initialNoise.slice(), scheduler.initNoiseSigma);

  // 4. The mask at latent size and the masked image's latents (diffusers draws them for both UNets).
  const latentMask = maskToLatent(mask, latentWidth, latentHeight);
  const maskedImageLatents = await encodeImage(job, applyMaskToImage(image, mask));

  // 5. Denoise.
  const options: DenoiseOptions =
    imageLatents && !inpaintingUnet
      ? { afterStep: restoreKnownRegion(scheduler, timesteps, imageLatents, initialNoise, latentMask) }
      : { extraChannels: inpaintingChannels(latentMask, maskedImageLatents, request.count) };
  await denoise(job, latents, timesteps, options);
  return latents;
}

/** The 9-channel UNet's extra input per image: the mask (1 channel), then the masked image's latents (4). */
function inpaintingChannels(latentMask: Float32Array, maskedImageLatents: Float32Array, count: number): Float32Array {
  const plane = latentMask.length;
  const perImage = (1 + LATENT_CHANNELS) * plane;
  const out = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) {
    out.set(latentMask, i * perImage);
    const latents = maskedImageLatents.subarray(i * LATENT_CHANNELS * plane, (i + 1) * LATENT_CHANNELS * plane);
    out.set(latents, i * perImage + plane);
  }
  return out;
}

/**
 * Legacy inpainting's step hook: `latents = (1 − mask) · known + mask · latents`, where `known` is the image's
 * latents noised to the next timestep's level (the image's latents themselves after the last step).
 */
function restoreKnownRegion(
  scheduler: Scheduler,
  timesteps: Float64Array,
  imageLatents: Float32Array,
  noise: Float32Array,
  latentMask: Float32Array,
): NonNullable<DenoiseOptions['afterStep']> {
  const plane = latentMask.length;
  return (index, latents) => {
    const next = timesteps[index + 1];
    const known = next === undefined ? imageLatents : scheduler.addNoise(imageLatents, noise, next);
    for (let k = 0; k < latents.length; k++) {
      const m = latentMask[k % plane] ?? 0;
      latents[k] = Math.fround((1 - m) * (known[k] ?? 0)) + Math.fround(m * (latents[k] ?? 0));
    }
  };
}
