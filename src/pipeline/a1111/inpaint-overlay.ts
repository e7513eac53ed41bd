// A1111's `apply_overlay` (processing.py, v1.10.1): the original picture, made transparent where the blurred mask
// is (`mask_for_overlay`: doubled for "Whole picture", as it is for "Only masked"), is alpha-composited over the
// generated one, in Pillow's 8-bit arithmetic: the overlay is the original pasted through the inverted mask into a
// premultiplied (`RGBa`) image, converted back to `RGBA` (un-premultiplied, integer division), then
// `Image.alpha_composite`d onto the generated picture, which A1111 makes by truncating `255 · x` to bytes — with
// "Only masked", first `uncrop`ped: resized to the crop ("crop and resize") and pasted into a transparent picture.
import type { Rgb8Image, RgbImage } from '../image/index.js';
import type { Bytes8 } from '../image/pillow-resample.js';
import { alphaComposite, pasteThroughMask, unpremultiply } from '../image/pillow-rgba.js';
import { a1111ResizeImage, paste } from './resize-image.js';

/** Where "Only masked" pastes the generated picture back (`paste_to`), in a picture of `pictureWidth × pictureHeight`. */
export interface PasteTo {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly pictureWidth: number;
  readonly pictureHeight: number;
}

/** `original` (8-bit) with the alpha of `255 − overlayMask`, as A1111 builds each `overlay_images` entry. */
export function overlayImage(original: Rgb8Image, overlayMask: Uint8Array): Uint8Array {
  return unpremultiply(pasteThroughMask(original, overlayMask.map((v) => 255 - v)));
}

/** The generated picture as A1111 saves it, with the overlay composited on (`apply_overlay`), uncropped first when `pasteTo`. */
export function applyOverlay(generated: RgbImage, overlay: Uint8Array, pasteTo?: PasteTo): Rgb8Image {
  const bytes: Bytes8 = { width: generated.width, height: generated.height, bands: 3, data: Uint8Array.from(generated.data, (v) => Math.trunc(Math.fround(255 * v))) };
  const width = pasteTo?.pictureWidth ?? generated.width;
  const height = pasteTo?.pictureHeight ?? generated.height;
  const transparent: Bytes8 = { width, height, bands: 4, data: new Uint8Array(width * height * 4) };
  const below = pasteTo ? paste(transparent, a1111ResizeImage(1, bytes, pasteTo.width, pasteTo.height), pasteTo.x, pasteTo.y) : paste(transparent, bytes, 0, 0);
  return { width, height, data: dropAlpha(alphaComposite(below.data, overlay)) };
}

/** 'RGBA' → 'RGB' (`rgba2rgb`): the colours as they are. */
export function dropAlpha(rgba: Uint8Array): Uint8Array {
  return Uint8Array.from({ length: (rgba.length / 4) * 3 }, (_, k) => rgba[Math.floor(k / 3) * 4 + (k % 3)] ?? 0);
}
