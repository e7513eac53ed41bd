import { resizeImage, toModelTensor, type RgbImage } from './image/index.js';
import { resizeBilinear } from './image/resize.js';
import { img2imgFromLatents } from './img2img.js';
import { sampleLatents } from './models/vae-encoder.js';
import { LATENT_CHANNELS } from './models/unet.js';
import type { ResolvedHires } from './request.js';
import type { Scheduler } from './schedulers/index.js';
import { createBatchNoise } from './seeds.js';
import { decodeImages, throwIfCancelled, type Job } from './steps.js';
import { PipelineError } from './errors.js';
import { createGenerator } from './rng/index.js';
import { sampleA1111, type A1111Latents } from './a1111/sample.js';
import { a1111SamplerFor, scheduledCalls, type A1111Sampler } from './a1111/samplers.js';

/**
 * A1111's hires fix after the first pass (`StableDiffusionProcessingTxt2Img.sample_hr_pass`): the first pass's
 * latents upscaled to the target size — in latent space, or decoded, resized in pixels and encoded again — then an
 * img2img pass at the target size with its own steps and denoising strength. As in A1111, each image's generator
 * starts again from its seed for the second pass's noise.
 * @param first - the first pass's job; its request carries `hires`.
 * @param latents - the first pass's final latents `[count, 4, h, w]`.
 * @param scheduler - a fresh scheduler for the second pass.
 * @returns the second pass's job (its size is the pictures') and its final latents.
 */
export async function hiresPass(
  first: Job,
  latents: Float32Array,
  scheduler: Scheduler,
): Promise<{ job: Job; latents: Float32Array }> {
  const { request } = first;

  // 1. The second pass: the target size, its own steps, strength, scheduler and noise.
  const job: Job = {
    ...first,
    ...secondPassOf(first),
    scheduler,
    noise: createBatchNoise(request.seed, request.count, request.rng, request.seedMode),
  };

  // 2. The first pass upscaled to the target's latent size (a Lanczos upscale's VAE sample from the job's noise).
  const upscaled = await upscaleFirstPass(first, latents, job, (shape) => job.noise.generator.randn(shape));

  // 3. Denoise it again at the target size.
  return { job, latents: await img2imgFromLatents(job, upscaled) };
}

/** What {@link a1111HiresPass} needs of the first pass. */
type FirstPass = Pick<Job, 'model' | 'request' | 'timing' | 'hooks' | 'latentWidth' | 'latentHeight'>;

/**
 * The hires fix's second pass in A1111 mode, as A1111 v1.10.1's `sample_hr_pass`: the first pass upscaled as in
 * {@link hiresPass}; then the hires sampler's (by default the first pass's) `sample_img2img` at the target size,
 * with the hires prompts and CFG, their prompt editing offset by the first pass (`hires_steps`), the hires steps passed, so
 * `setup_img2img_steps`' fixed-steps rule (exactly `hires.steps` levels walked of a `⌊steps / strength⌋` schedule);
 * its noise from a new `ImageRNG` of the target's shape over the pictures' seeds (and variation seeds): the first
 * draw noises the upscaled latents, the sampler's draws follow. A Lanczos upscale's VAE sample draws from torch's CPU
 * generator as img2img's init image does (at `seed + count − 1`).
 * @param first - the first pass; its request carries `hires`.
 * @param latents - the first pass's final latents `[count, 4, h, w]`.
 */
export async function a1111HiresPass(
  first: FirstPass,
  latents: Float32Array,
  firstSampler: A1111Sampler,
): Promise<{ job: FirstPass; sampled: A1111Latents }> {
  const { request } = first;
  const job: FirstPass = { ...first, ...secondPassOf(first) };
  const sampler = a1111SamplerFor(job.request.sampler);
  if (!sampler) throw new TypeError(`the hires sampler ${job.request.sampler} has no A1111 port`);
  const vaeNoise = createGenerator(request.seed + BigInt(request.count - 1), 'cpu');
  const init = await upscaleFirstPass(first, latents, job, (shape) => vaeNoise.randn(shape));
  const firstPassCalls = scheduledCalls(firstSampler, request.steps);
  // A1111's hires pass noises with its extra noise; the noise multiplier, which it never reads, is refused with hires (1).
  const pass = { ...job.request, kind: 'img2img' as const, fixSteps: true, init, firstPassCalls };
  return { job, sampled: await sampleA1111(first.model, pass, sampler, first.hooks, first.timing) };
}

/**
 * The second pass's request and latent size: the target size, the hires steps, strength, sampler, schedule type,
 * prompts and CFG.
 */
function secondPassOf(first: FirstPass): Pick<Job, 'request' | 'latentWidth' | 'latentHeight'> {
  const { hires } = first.request;
  if (!hires) throw new TypeError('the hires pass needs `hires` in the request');
  const { width, height, steps, strength, sampler, prompt, negativePrompt, cfg, scheduleType } = hires;
  const target = { width, height, steps, strength, sampler, prompt, negativePrompt, cfg, scheduleType };
  return { request: { ...first.request, ...target }, latentWidth: hires.width / 8, latentHeight: hires.height / 8 };
}

/**
 * The first pass's latents upscaled to `to`'s latent size: in latent space, or decoded, resized and encoded again
 * (its VAE sample's noise from `draw`, of the batch's shape).
 */
async function upscaleFirstPass(
  first: FirstPass,
  latents: Float32Array,
  to: FirstPass,
  draw: (shape: number[]) => Float32Array,
): Promise<Float32Array> {
  const hires = first.request.hires;
  if (!hires) throw new TypeError('the hires pass needs `hires` in the request');
  const upscaled =
    hires.upscaler === 'lanczos'
      ? await encodeEach(to, await upscalePixels(first, latents, hires), draw)
      : resizeLatents(latents, first.request.count, first, to, hires.upscaler === 'latent' ? 'bilinear' : 'nearest');
  throwIfCancelled(first.hooks.signal);
  return upscaled;
}

/**
 * A1111's pixel upscalers: each picture decoded and resized with a Lanczos-3 filter to `int(side · scale)`, not
 * rounded to a multiple of 8 (the VAE encodes it to an eighth of that, floored).
 */
async function upscalePixels(first: FirstPass, latents: Float32Array, hires: ResolvedHires): Promise<RgbImage[]> {
  const images = await decodeImages(first, latents);
  return Promise.all(images.map((image) => resizeImage(image, hires.upscaledWidth, hires.upscaledHeight)));
}

/**
 * Each picture's latents: its own VAE encoding, sampled with its own share of one `draw` of the batch's shape, ×
 * the VAE scaling factor.
 */
async function encodeEach(job: FirstPass, images: readonly RgbImage[], draw: (shape: number[]) => Float32Array): Promise<Float32Array> {
  const { model, request, timing, latentWidth, latentHeight } = job;
  const encoder = model.vaeEncoder;
  if (!encoder) {
    throw new PipelineError(
      'MODEL_MISSING_FILE',
      `The Lanczos hires upscaler needs the VAE encoder, but ${model.folder.dir} has no vae_encoder/model.onnx`,
      { file: model.folder.dir },
    );
  }
  const size = LATENT_CHANNELS * latentWidth * latentHeight;
  const out = new Float32Array(request.count * size);
  const distributions = [];
  for (const image of images) {
    distributions.push(await encoder.encode(toModelTensor(image), image.width, image.height, timing.vaeEncoder));
  }
  const draws = distributions.some((d) => d.std) ? draw([request.count, LATENT_CHANNELS, latentHeight, latentWidth]) : undefined;
  distributions.forEach((distribution, i) => {
    const draw = draws?.subarray(i * size, (i + 1) * size);
    out.set(sampleLatents(distribution, draw, 1, model.folder.vaeScalingFactor), i * size);
  });
  return out;
}

type LatentSize = Pick<Job, 'latentWidth' | 'latentHeight'>;

/**
 * A1111's "Latent" upscalers: `torch.nn.functional.interpolate` of the latents to the target size, `bilinear`
 * (pixel centres, `align_corners=False`) or `nearest` (source index ⌊i · in / out⌋), without antialiasing.
 */
export function resizeLatents(
  latents: Float32Array,
  count: number,
  from: LatentSize,
  to: LatentSize,
  mode: 'bilinear' | 'nearest',
): Float32Array {
  const inPlane = from.latentWidth * from.latentHeight;
  const outPlane = to.latentWidth * to.latentHeight;
  const out = new Float32Array(count * LATENT_CHANNELS * outPlane);
  for (let p = 0; p < count * LATENT_CHANNELS; p++) {
    const plane = latents.subarray(p * inPlane, (p + 1) * inPlane);
    const resized =
      mode === 'bilinear'
        ? resizeBilinear({ width: from.latentWidth, height: from.latentHeight, channels: 1, data: plane }, to.latentWidth, to.latentHeight).data
        : resizeNearest(plane, from, to);
    out.set(resized, p * outPlane);
  }
  return out;
}

function resizeNearest(plane: Float32Array, from: LatentSize, to: LatentSize): Float32Array {
  const index = (i: number, inSize: number, outSize: number) => Math.min(Math.floor((i * inSize) / outSize), inSize - 1);
  const out = new Float32Array(to.latentWidth * to.latentHeight);
  for (let y = 0; y < to.latentHeight; y++) {
    const row = index(y, from.latentHeight, to.latentHeight) * from.latentWidth;
    for (let x = 0; x < to.latentWidth; x++) out[y * to.latentWidth + x] = plane[row + index(x, from.latentWidth, to.latentWidth)] ?? 0;
  }
  return out;
}
