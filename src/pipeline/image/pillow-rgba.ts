// Pillow's 8-bit arithmetic on RGBA pictures (Pillow 9.5.0, A1111's pin), as A1111's inpainting uses it: `paste`
// through an 'L' mask into an empty premultiplied ('RGBa') image (Paste.c `paste_mask_L`), 'RGBa' → 'RGBA'
// (Convert.c `rgba2rgbA`) and `alpha_composite` (AlphaComposite.c). Pixels are 4 interleaved bytes.
import type { Rgb8Image } from './types.js';

/** Pillow's `SHIFTFORDIV255`: `a / 255`, rounded where Pillow adds half first. */
export const shiftForDiv255 = (a: number): number => (((a >>> 8) + a) >>> 8);

/** Fraction bits `alpha_composite` keeps (`PRECISION_BITS`). */
const PRECISION = 7;

/**
 * An empty 'RGBa' image with `picture` (opaque) pasted through `alpha` (one byte per pixel): every band, alpha
 * included, `DIV255(value · alpha)` — the picture premultiplied by the mask.
 */
export function pasteThroughMask(picture: Rgb8Image, alpha: Uint8Array): Uint8Array {
  const out = new Uint8Array(alpha.length * 4);
  for (let p = 0; p < alpha.length; p++) {
    const a = alpha[p] ?? 0;
    for (let c = 0; c < 3; c++) out[p * 4 + c] = shiftForDiv255((picture.data[p * 3 + c] ?? 0) * a + 128);
    out[p * 4 + 3] = shiftForDiv255(255 * a + 128);
  }
  return out;
}

/** 'RGBa' → 'RGBA' (`rgba2rgbA`): each colour `CLIP8(255 · value / alpha)`, unless alpha is 0 or 255. A new array. */
export function unpremultiply(rgba: Uint8Array): Uint8Array {
  const out = rgba.slice();
  for (let p = 0; p < rgba.length; p += 4) {
    const alpha = rgba[p + 3] ?? 0;
    if (alpha === 0 || alpha === 255) continue;
    for (let c = 0; c < 3; c++) out[p + c] = Math.min(255, Math.trunc((255 * (rgba[p + c] ?? 0)) / alpha));
  }
  return out;
}

/** `src` composited over `dst` (both 'RGBA'), as Pillow's `alpha_composite`: 7 extra bits, rounded divisions. */
export function alphaComposite(dst: Uint8Array, src: Uint8Array): Uint8Array {
  const out = dst.slice();
  for (let p = 0; p < dst.length; p += 4) {
    const srcAlpha = src[p + 3] ?? 0;
    if (srcAlpha === 0) continue;
    const blend = (dst[p + 3] ?? 0) * (255 - srcAlpha);
    const outa255 = srcAlpha * 255 + blend;
    const coef1 = Math.trunc((srcAlpha * 255 * 255 * (1 << PRECISION)) / outa255);
    const coef2 = 255 * (1 << PRECISION) - coef1;
    for (let c = 0; c < 3; c++) {
      const mixed = (src[p + c] ?? 0) * coef1 + (dst[p + c] ?? 0) * coef2;
      out[p + c] = shiftForDiv255(mixed + (0x80 << PRECISION)) >>> PRECISION;
    }
    out[p + 3] = shiftForDiv255(outa255 + 0x80);
  }
  return out;
}
