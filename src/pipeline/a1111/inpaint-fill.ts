// A1111's "Masked content: fill" (modules/masking.py `fill`, v1.10.1): before encoding, the masked area of the
// picture is painted with the colours around it — the picture outside the mask (pasted through the inverted mask
// into a premultiplied image) blurred by Pillow's GaussianBlur at radii 256, 64, 16, 4, 2 and 0, each result
// composited onto the last (16 twice, 4 four times, 2 twice), coarse to fine, so near colours win near the edge.
import type { Rgb8Image } from '../image/index.js';
import { pillowGaussianBlur } from '../image/pillow-gaussian-blur.js';
import { alphaComposite, pasteThroughMask, unpremultiply } from '../image/pillow-rgba.js';
import { dropAlpha } from './inpaint-overlay.js';

/** `fill`'s blur radii, each with how many times its result is composited. */
const CASCADE: readonly (readonly [radius: number, repeats: number])[] = [[256, 1], [64, 1], [16, 2], [4, 4], [2, 2], [0, 1]];

/** `picture` with the area of `mask` (8-bit, 255 = repaint; A1111's latent mask, the blurred mask) filled. */
export function fillMaskedArea(picture: Rgb8Image, mask: Uint8Array): Rgb8Image {
  const { width, height } = picture;
  const masked = pasteThroughMask(picture, mask.map((v) => 255 - v));
  let filled: Uint8Array = new Uint8Array(width * height * 4);
  for (const [radius, repeats] of CASCADE) {
    const blurred = unpremultiply(pillowGaussianBlur(masked, width, height, 4, radius));
    for (let i = 0; i < repeats; i++) filled = alphaComposite(filled, blurred);
  }
  return { width, height, data: dropAlpha(filled) };
}
