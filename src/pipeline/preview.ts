import type { Rgb8Image } from './image/index.js';
import { LATENT_CHANNELS } from './models/unet.js';

/**
 * SD 1.x latent channel → RGB factors (rows: channels 0–3; columns: R, G, B), the well-known linear
 * approximation of the VAE decoder that A1111 ("Approx cheap") and ComfyUI use for live previews.
 */
const LATENT_RGB_FACTORS = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
] as const;

/**
 * A cheap preview of each image of a batch of latents, without the VAE: a fixed linear map of the 4 channels
 * to RGB at latent resolution (1/8 of the image's size), mapped from [−1, 1] to 8 bits.
 * @param latents - `[count, 4, latentHeight, latentWidth]`, the loop's current latents.
 */
export function latentPreview(
  latents: Float32Array,
  count: number,
  latentWidth: number,
  latentHeight: number,
): Rgb8Image[] {
  const plane = latentWidth * latentHeight;
  return Array.from({ length: count }, (_, image) => {
    const base = image * LATENT_CHANNELS * plane;
    const data = new Uint8Array(plane * 3);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        let value = 0;
        for (let l = 0; l < LATENT_CHANNELS; l++) {
          value += (latents[base + l * plane + p] ?? 0) * (LATENT_RGB_FACTORS[l]?.[c] ?? 0);
        }
        data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, (value + 1) / 2)) * 255);
      }
    }
    return { width: latentWidth, height: latentHeight, data };
  });
}
