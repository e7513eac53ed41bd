// A1111's `apply_overlay` (processing.py, v1.10.1) for "Inpaint area: Whole picture": the original picture, made
// transparent where the blurred mask is (`mask_for_overlay`), is alpha-composited over the generated one, in
// Pillow's 8-bit arithmetic: the overlay is the original pasted through the inverted mask into a premultiplied
// (`RGBa`) image, converted back to `RGBA` (un-premultiplied, integer division), then `Image.alpha_composite`d
// (7 extra fraction bits, rounded divisions by 255) onto the generated picture, which A1111 makes by truncating
// `255 · x` to bytes.
import type { Rgb8Image, RgbImage } from '../image/index.js';

/** Pillow's `SHIFTFORDIV255`: `a / 255` for the rounded divisions of its 8-bit blending. */
const shiftForDiv255 = (a: number): number => (((a >>> 8) + a) >>> 8);

/** `original` (8-bit) with the alpha of `255 − overlayMask`, as A1111 builds each `overlay_images` entry. */
export function overlayImage(original: Rgb8Image, overlayMask: Uint8Array): Uint8Array {
  const rgba = new Uint8Array(overlayMask.length * 4);
  for (let p = 0; p < overlayMask.length; p++) {
    const alpha = 255 - (overlayMask[p] ?? 0);
    for (let c = 0; c < 3; c++) {
      // `paste(…, mask)` into an empty RGBa image: DIV255(value · mask) for every band (alpha becomes the mask).
      const premultiplied = shiftForDiv255((original.data[p * 3 + c] ?? 0) * alpha + 128);
      // `convert('RGBA')` from RGBa (`rgba2rgbA`): CLIP8(255 · value / alpha) unless alpha is 0 or 255.
      rgba[p * 4 + c] = alpha === 0 || alpha === 255 ? premultiplied : Math.min(255, Math.trunc((255 * premultiplied) / alpha));
    }
    rgba[p * 4 + 3] = alpha;
  }
  return rgba;
}

/** The generated picture as A1111 saves it, with the overlay composited on (`apply_overlay`). */
export function applyOverlay(generated: RgbImage, overlay: Uint8Array): Rgb8Image {
  const { width, height } = generated;
  const data = new Uint8Array(width * height * 3);
  const precision = 7;
  for (let p = 0; p < width * height; p++) {
    const alpha = overlay[p * 4 + 3] ?? 0;
    // The generated picture is opaque, so `outa255` is 255·255 and `coef1` is exactly alpha · 2^7.
    const coef1 = alpha << precision;
    const coef2 = (255 << precision) - coef1;
    for (let c = 0; c < 3; c++) {
      const below = Math.trunc(Math.fround(255 * (generated.data[p * 3 + c] ?? 0)));
      if (alpha === 0) {
        data[p * 3 + c] = below;
        continue;
      }
      const mixed = (overlay[p * 4 + c] ?? 0) * coef1 + below * coef2;
      data[p * 3 + c] = shiftForDiv255(mixed + (0x80 << precision)) >>> precision;
    }
  }
  return { width, height, data };
}
