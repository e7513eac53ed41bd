import type { Mask, RgbImage } from './types.js';

/**
 * The inpaint result pasted into the original: `original · (1 − m) + generated · m` per pixel, as A1111 pastes
 * its overlay. Where the (feathered) mask is exactly 0 this is the original sample bit for bit (`x · 1 + y · 0`),
 * so pixels outside the repainted area stay exactly as uploaded; the VAE's round trip would otherwise shift
 * them slightly.
 *
 * @param featheredMask - 1 = take `generated`, 0 = keep `original`, values between blend (see `featherMask`).
 */
export function compositeOutsideMask(original: RgbImage, generated: RgbImage, featheredMask: Mask): RgbImage {
  const { width, height } = original;
  for (const [name, other] of [['generated image', generated], ['mask', featheredMask]] as const) {
    if (other.width !== width || other.height !== height) {
      throw new RangeError(`${name} is ${other.width}×${other.height}, the original ${width}×${height}`);
    }
  }
  const data = new Float32Array(original.data.length);
  for (let i = 0; i < data.length; i++) {
    const m = featheredMask.data[Math.floor(i / 3)]!;
    data[i] = original.data[i]! * (1 - m) + generated.data[i]! * m;
  }
  return { width, height, channels: 3, data };
}
