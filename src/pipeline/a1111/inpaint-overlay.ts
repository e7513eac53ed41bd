// A1111's `apply_overlay` (processing.py, v1.10.1) for "Inpaint area: Whole picture": the original picture, made
// transparent where the blurred mask is (`mask_for_overlay`), is alpha-composited over the generated one, in
// Pillow's 8-bit arithmetic: the overlay is the original pasted through the inverted mask into a premultiplied
// (`RGBa`) image, converted back to `RGBA` (un-premultiplied, integer division), then `Image.alpha_composite`d
// onto the generated picture, which A1111 makes by truncating `255 · x` to bytes.
import type { Rgb8Image, RgbImage } from '../image/index.js';
import { alphaComposite, pasteThroughMask, unpremultiply } from '../image/pillow-rgba.js';

/** `original` (8-bit) with the alpha of `255 − overlayMask`, as A1111 builds each `overlay_images` entry. */
export function overlayImage(original: Rgb8Image, overlayMask: Uint8Array): Uint8Array {
  return unpremultiply(pasteThroughMask(original, overlayMask.map((v) => 255 - v)));
}

/** The generated picture as A1111 saves it, with the overlay composited on (`apply_overlay`). */
export function applyOverlay(generated: RgbImage, overlay: Uint8Array): Rgb8Image {
  const { width, height } = generated;
  const below = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) below[p * 4 + c] = Math.trunc(Math.fround(255 * (generated.data[p * 3 + c] ?? 0)));
    below[p * 4 + 3] = 255;
  }
  return { width, height, data: dropAlpha(alphaComposite(below, overlay)) };
}

/** 'RGBA' → 'RGB' (`rgba2rgb`): the colours as they are. */
export function dropAlpha(rgba: Uint8Array): Uint8Array {
  return Uint8Array.from({ length: (rgba.length / 4) * 3 }, (_, k) => rgba[Math.floor(k / 3) * 4 + (k % 3)] ?? 0);
}
