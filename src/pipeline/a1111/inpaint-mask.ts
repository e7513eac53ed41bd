// The masks of A1111's inpainting (`StableDiffusionProcessingImg2Img.init`, v1.10.1, "Inpaint area: Whole
// picture"), from the mask a member drew at the working size: the 8-bit mask (`create_binary_mask`: the mask as
// 8-bit luminance, not thresholded), inverted for "Inpaint not masked", blurred by `cv2.GaussianBlur` along x then
// y ("Mask blur"); the overlay's mask (the blurred mask doubled, clipped; as it is for "Only masked"); the latent mask (the blurred mask shrunk
// to the latent size by Pillow's bicubic `resize`, / 255, rounded: `mask_round`); and, for an inpainting UNet, the
// conditioning mask (the blurred mask / 255 rounded, `torch.round`).
import type { Mask } from '../image/index.js';
import { cvGaussianBlur } from '../image/cv-gaussian-blur.js';
import { pillowResizeBicubic } from '../image/pillow-resample.js';

/** The masks A1111 samples with, from the 8-bit mask at the working size. */
export interface SamplingMasks {
  /** `nmask`: the latent mask, one `latentWidth × latentHeight` plane, 1 = repaint, 0 = keep. */
  readonly latent: Float32Array;
  /** The inpainting UNet's mask: the blurred mask / 255, rounded, `width × height` (1 = repaint). */
  readonly conditioning: Float32Array;
}

/** A1111's mask settings. */
export interface MaskSettings {
  /** "Mask blur": σ in pixels (both axes); 0 = none. */
  readonly blur: number;
  /** "Mask mode: Inpaint not masked". */
  readonly invert: boolean;
}

/** `image_mask`: the drawn mask as 8 bits (`create_binary_mask`), inverted if asked, blurred ("Mask blur"). */
export function blurredMask(mask: Mask, settings: MaskSettings): Uint8Array {
  const { width, height } = mask;
  // `convert('L')` of the drawn mask: it is 8-bit already; a float mask is rounded to its byte.
  let blurred: Uint8Array = Uint8Array.from(mask.data, (v) => Math.round(Math.min(Math.max(v, 0), 1) * 255));
  if (settings.invert) blurred = blurred.map((v) => 255 - v);
  if (settings.blur > 0) {
    const kernel = 2 * Math.trunc(2.5 * settings.blur + 0.5) + 1;
    blurred = cvGaussianBlur(blurred, width, height, 'horizontal', kernel, settings.blur);
    blurred = cvGaussianBlur(blurred, width, height, 'vertical', kernel, settings.blur);
  }
  return blurred;
}

/**
 * The latent mask and an inpainting UNet's mask from the 8-bit mask at the working size (`width × height`; the
 * blurred mask, or with "Only masked" its crop resized).
 */
export function samplingMasks(mask: Uint8Array, width: number, height: number, latentWidth: number, latentHeight: number): SamplingMasks {
  const shrunk = pillowResizeBicubic(mask, width, height, latentWidth, latentHeight);
  // `np.around(latmask / 255)`: v / 255 is never exactly one half, so this is v ≥ 128.
  const latent = Float32Array.from(shrunk, (v) => (v >= 128 ? 1 : 0));
  const conditioning = Float32Array.from(mask, (v) => (v >= 128 ? 1 : 0));
  return { latent, conditioning };
}

/**
 * `mask_for_overlay` from the blurred mask (`width × height` bytes): for "Whole picture" doubled, clipped to 255; for
 * "Only masked" as it is. The overlay keeps the original where it is 0.
 */
export function overlayMask(blurred: Uint8Array, onlyMasked: boolean): Uint8Array {
  return onlyMasked ? blurred : blurred.map((v) => Math.min(v * 2, 255));
}
