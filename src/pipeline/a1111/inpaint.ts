// A1111's inpainting (img2img with a mask, `StableDiffusionProcessingImg2Img`, v1.10.1, "Inpaint area: Whole
// picture"): what it adds to img2img. Before sampling: the masks (see inpaint-mask.ts), the init latent's masked
// area per "Masked content", and for an inpainting UNet the image conditioning (the mask and the latents of the
// masked picture). During sampling: the blend `x·nmask + init_latent·mask` (mask = 1 − nmask) of the denoiser's
// estimate after each call (k-diffusion's `CFGDenoiser`) or of the UNet's input before it (the timestep samplers'
// `CFGDenoiserTimesteps`, `mask_before_denoising`). After it: the same blend of the result, and `apply_overlay`.
// "Only masked" with a blurred mask that marks nothing has no area: A1111 then drops the mask and runs img2img of
// the whole picture (see `wholePictureImg2img`).
import { toModelTensor, type Mask, type Rgb8Image, type RgbImage } from '../image/index.js';
import { fromRgb8, toRgb8 } from '../image/convert.js';
import { fillMaskedArea } from './inpaint-fill.js';
import { pillowResize } from '../image/pillow-resample.js';
import { LATENT_CHANNELS } from '../models/unet.js';
import { sampleLatents } from '../models/vae-encoder.js';
import type { StableDiffusionModel } from '../models/stable-diffusion-model.js';
import { PipelineError } from '../errors.js';
import type { RandomGenerator } from '../rng/index.js';
import type { MaskedContent, ResolvedInpaint, ResolvedRequest } from '../request.js';
import type { TimingRecorder } from '../timing.js';
import { ImageNoise } from './image-noise.js';
import { maskedArea } from './inpaint-crop.js';
import { blurredMask, overlayMask, samplingMasks } from './inpaint-mask.js';
import { applyOverlay, overlayImage, type PasteTo } from './inpaint-overlay.js';
import type { Denoiser } from './k-steps.js';
import type { EpsModel } from './timestep-samplers.js';

const f32 = Math.fround;

/** What A1111's inpainting adds to an img2img pass. */
export interface A1111Inpainting {
  /** `init_latent`: `[count, 4, h, w]`, its masked area as "Masked content" says. */
  readonly initLatent: Float32Array;
  /** `nmask`, one latent plane (1 = repaint); undefined when the mask was dropped (see {@link ONLY_MASKED_BLANK}). */
  readonly latentMask: Float32Array | undefined;
  /** An inpainting UNet's extra input per picture, `[count, 5, h, w]` (mask, masked picture's latents); else undefined. */
  readonly imageConditioning: Float32Array | undefined;
  /**
   * The picture as A1111 saves it: the original composited over the generated one through the blurred mask;
   * undefined when the mask was dropped.
   */
  readonly overlay: ((generated: RgbImage) => Rgb8Image) | undefined;
}

/** The member's notice when "Only masked" found no area and the whole picture was reworked (A1111 logs the same). */
export const ONLY_MASKED_BLANK =
  'The mask marks nothing to repaint, so "Inpaint area: Only masked" had no area: the whole picture was reworked instead, as AUTOMATIC1111 does.';

/**
 * Whether "Only masked" finds no area in `mask`: its blurred mask (inverted where asked) marks nothing, so
 * `get_crop_region_v2` finds no box and A1111 drops the mask (see `wholePictureImg2img`).
 */
export function onlyMaskedFindsNoArea(mask: Mask, inpaint: ResolvedInpaint): boolean {
  return inpaint.onlyMasked && !blurredMask(mask, { blur: inpaint.maskBlur, invert: inpaint.invertMask }).some((v) => v > 0);
}

/**
 * A1111's `init` for a request with a mask. `draws` is torch's global CPU generator as A1111 finds it (see
 * `initLatents` in sample.ts): the init latent's VAE sample draws from it first, then the inpainting
 * conditioning's.
 */
export async function prepareInpainting(
  model: StableDiffusionModel,
  request: ResolvedRequest,
  draws: RandomGenerator,
  timing: TimingRecorder,
): Promise<A1111Inpainting> {
  const { initImage, mask, inpaint } = request;
  if (!initImage || !mask || !inpaint) throw new TypeError('A1111 inpainting needs an init image, a mask and its settings');
  const { width, height } = request;
  const latentWidth = width / 8;
  const latentHeight = height / 8;
  const original = toRgb8(initImage);
  const working = workingArea(original, blurredMask(mask, { blur: inpaint.maskBlur, invert: inpaint.invertMask }), inpaint, width, height);
  if (!working) return wholePictureImg2img(model, request, original, draws, timing);
  const masks = samplingMasks(working.mask, width, height, latentWidth, latentHeight);
  // "fill": the picture encoded (and an inpainting UNet conditioned on it) with its masked area filled (`masking.fill`
  // with `latent_mask`: the blurred mask at the working size); the overlay keeps the original.
  const image = toModelTensor(fromRgb8(inpaint.maskedContent === 'fill' ? fillMaskedArea(working.picture, working.mask) : working.picture));
  const encoded = await vaeSample(model, image, request, draws, timing);
  const seeds = Array.from({ length: request.count }, (_, i) => request.seed + BigInt(i));
  // `create_random_tensors` over the pictures' seeds: their generators' first draw (no variation seed, no ENSD).
  const firstNoise = () => new ImageNoise(seeds, request.rng, [LATENT_CHANNELS, latentHeight, latentWidth], 0n).next();
  const initLatent = maskedContent(encoded, masks.latent, inpaint.maskedContent, firstNoise);
  const inpaintingUnet = model.unet.inChannels === 9;
  const imageConditioning = inpaintingUnet
    ? await inpaintingConditioning(model, image, masks.conditioning, request, draws, timing)
    : undefined;
  const overlay = overlayImage(original, working.overlayMask);
  return { initLatent, latentMask: masks.latent, imageConditioning, overlay: (generated) => applyOverlay(generated, overlay, working.pasteTo) };
}

/**
 * "Only masked" with a blank blurred mask (`get_crop_region_v2` finds no box): A1111 sets `image_mask` to None and
 * goes on as img2img — the picture resized to the working size ("Just resize", Pillow's LANCZOS), encoded as it is
 * ("Masked content" unused), no blend and no overlay; an inpainting UNet is conditioned with a mask of ones
 * (`inpainting_image_conditioning` without a mask), so the whole picture is repainted.
 */
async function wholePictureImg2img(
  model: StableDiffusionModel,
  request: ResolvedRequest,
  original: Rgb8Image,
  draws: RandomGenerator,
  timing: TimingRecorder,
): Promise<A1111Inpainting> {
  const { width, height } = request;
  const resized = original.width === width && original.height === height ? original : { width, height, data: pillowResize({ ...original, bands: 3 }, width, height, 'lanczos').data };
  const image = toModelTensor(fromRgb8(resized));
  const initLatent = await vaeSample(model, image, request, draws, timing);
  const imageConditioning =
    model.unet.inChannels === 9 ? await inpaintingConditioning(model, image, new Float32Array(width * height).fill(1), request, draws, timing) : undefined;
  return { initLatent, latentMask: undefined, imageConditioning, overlay: undefined };
}

/** The picture and blurred mask at the working size, the overlay's mask, and (Only masked) where the area goes back. */
interface WorkingArea {
  readonly picture: Rgb8Image;
  readonly mask: Uint8Array;
  readonly overlayMask: Uint8Array;
  readonly pasteTo?: PasteTo;
}

/**
 * "Whole picture": the picture and its blurred mask as they are. "Only masked": the mask's area cut out and resized
 * (see inpaint-crop.ts); undefined when the blurred mask marks nothing. The overlay's mask is the blurred mask's
 * either way (see `overlayMask`).
 */
function workingArea(original: Rgb8Image, blurred: Uint8Array, inpaint: ResolvedInpaint, width: number, height: number): WorkingArea | undefined {
  const overlay = overlayMask(blurred, inpaint.onlyMasked);
  if (!inpaint.onlyMasked) return { picture: original, mask: blurred, overlayMask: overlay };
  const area = maskedArea(original, blurred, inpaint.maskedPadding, width, height);
  if (!area) return undefined;
  return { picture: area.picture, mask: area.mask, overlayMask: overlay, pasteTo: area.pasteTo };
}

/**
 * `count` latent samples of an image tensor `[1, 3, H, W]` in [−1, 1] (`get_first_stage_encoding(
 * encode_first_stage(x))`: `0.18215 · (mean + std · ε)`), ε drawn from `draws`.
 */
export async function vaeSample(
  model: StableDiffusionModel,
  image: Float32Array,
  request: Pick<ResolvedRequest, 'width' | 'height' | 'count'>,
  draws: RandomGenerator,
  timing: TimingRecorder,
): Promise<Float32Array> {
  if (!model.vaeEncoder) {
    throw new PipelineError('INVALID_REQUEST', 'img2img and inpainting need a model with a VAE encoder', { field: 'initImage' });
  }
  const distribution = await model.vaeEncoder.encode(image, request.width, request.height, timing.vaeEncoder);
  const shape = [request.count, LATENT_CHANNELS, request.height / 8, request.width / 8];
  const epsilon = distribution.std ? draws.randn(shape) : undefined;
  return sampleLatents(distribution, epsilon, request.count, model.folder.vaeScalingFactor);
}

/**
 * "Masked content" in the init latent's masked area (`latentMask`, one plane): `original` and `fill` (filled in
 * the picture before encoding) keep it; `latent noise`
 * puts the pictures' first noise draw there (`firstNoise`, drawn only then); `latent nothing` zeros.
 */
export function maskedContent(initLatent: Float32Array, latentMask: Float32Array, content: MaskedContent, firstNoise: () => Float32Array): Float32Array {
  if (content === 'original' || content === 'fill') return initLatent;
  const plane = latentMask.length;
  const keep = (k: number) => f32(1 - (latentMask[k % plane] ?? 0));
  if (content === 'latent nothing') return initLatent.map((v, k) => f32(v * keep(k)));
  const noise = firstNoise();
  return initLatent.map((v, k) => f32(f32(v * keep(k)) + f32((noise[k] ?? 0) * (latentMask[k % plane] ?? 0))));
}

/**
 * `inpainting_image_conditioning`: the picture with the repainted area moved towards 0 by the mask weight
 * (`torch.lerp(x, x·(1 − m), w)`), encoded (a VAE sample from `draws`), after the mask shrunk to the latent size
 * by nearest neighbour (`interpolate`'s default: the top-left pixel of each 8 × 8 block).
 */
async function inpaintingConditioning(
  model: StableDiffusionModel,
  image: Float32Array,
  conditioningMask: Float32Array,
  request: ResolvedRequest,
  draws: RandomGenerator,
  timing: TimingRecorder,
): Promise<Float32Array> {
  const weight = request.inpaint?.maskWeight ?? 1;
  const plane = conditioningMask.length;
  const masked = image.map((v, k) => lerp(v, f32(v * f32(1 - (conditioningMask[k % plane] ?? 0))), weight));
  const latents = await vaeSample(model, masked, request, draws, timing);
  const latentWidth = request.width / 8;
  const latentHeight = request.height / 8;
  const latentPlane = latentWidth * latentHeight;
  const out = new Float32Array(request.count * (1 + LATENT_CHANNELS) * latentPlane);
  for (let i = 0; i < request.count; i++) {
    const base = i * (1 + LATENT_CHANNELS) * latentPlane;
    for (let y = 0; y < latentHeight; y++) {
      for (let x = 0; x < latentWidth; x++) out[base + y * latentWidth + x] = conditioningMask[y * 8 * request.width + x * 8] ?? 0;
    }
    out.set(latents.subarray(i * LATENT_CHANNELS * latentPlane, (i + 1) * LATENT_CHANNELS * latentPlane), base + latentPlane);
  }
  return out;
}

/** `torch.lerp(start, end, weight)` in float32, with torch's two formulas either side of one half. */
function lerp(start: number, end: number, weight: number): number {
  const w = f32(weight);
  return w < 0.5 ? f32(start + f32(w * f32(end - start))) : f32(end - f32(f32(end - start) * f32(1 - w)));
}

/** The init latent and the latent mask that inpainting blends with (`self.init_latent`, `self.nmask`). */
export interface LatentBlend {
  readonly initLatent: Float32Array;
  readonly latentMask: Float32Array;
}

/** `latents · nmask + init_latent · (1 − nmask)`, float32 like torch (a new array). */
export function blendLatents(latents: Float32Array, inpainting: LatentBlend): Float32Array {
  const { initLatent, latentMask } = inpainting;
  const plane = latentMask.length;
  return latents.map((v, k) => {
    const repaint = latentMask[k % plane] ?? 0;
    return f32(f32(v * repaint) + f32((initLatent[k] ?? 0) * f32(1 - repaint)));
  });
}

/** k-diffusion's `CFGDenoiser` with a mask: the guided estimate blended with the init latent after each call. */
export function blendAfter(denoiser: Denoiser, inpainting: LatentBlend): Denoiser {
  return async (x, sigma) => blendLatents(await denoiser(x, sigma), inpainting);
}

/** `CFGDenoiserTimesteps` with a mask (`mask_before_denoising`): the UNet's input blended before each call. */
export function blendBefore(model: EpsModel, inpainting: LatentBlend): EpsModel {
  return async (x, t) => model(blendLatents(x, inpainting), t);
}
