// A1111's "Inpaint area: Only masked" (`inpaint_full_res`, v1.10.1): the blurred mask's bounding box, widened by
// "Only masked padding, pixels" (masking.get_crop_region_v2) and then to the working size's aspect ratio within the
// picture (masking.expand_crop_region), is cut from the picture and its mask and resized to the working size
// ("resize and fill", images.resize_image mode 2); that area is inpainted, and the result pasted back into the
// picture (see `applyOverlay`).
import type { Rgb8Image } from '../image/index.js';
import { crop } from '../image/pillow-resample.js';
import type { PasteTo } from './inpaint-overlay.js';
import { a1111ResizeImage } from './resize-image.js';

/** A region `[x1, x2) × [y1, y2)` of the picture. */
export type Region = readonly [x1: number, y1: number, x2: number, y2: number];

/** The area "Only masked" works on, at the working size. */
export interface MaskedArea {
  /** The crop of the picture, resized to the working size. */
  readonly picture: Rgb8Image;
  /** The crop of the blurred mask, resized likewise (A1111's `image_mask`, `latent_mask`). */
  readonly mask: Uint8Array;
  /** Where the result goes back. */
  readonly pasteTo: PasteTo;
}

/**
 * The area of `picture` that `blurred` (its blurred 8-bit mask) marks, padded by `padding` pixels, at the working size
 * `width × height`; undefined when the mask marks nothing (A1111 then inpaints nothing and runs img2img).
 */
export function maskedArea(picture: Rgb8Image, blurred: Uint8Array, padding: number, width: number, height: number): MaskedArea | undefined {
  const box = cropRegion(blurred, picture.width, picture.height, padding);
  if (!box) return undefined;
  const [x1, y1, x2, y2] = expandCropRegion(box, width, height, picture.width, picture.height);
  const cropOf = (data: Uint8Array, bands: number) => a1111ResizeImage(2, crop({ width: picture.width, height: picture.height, bands, data }, x1, y1, x2 - x1, y2 - y1), width, height);
  return {
    picture: { width, height, data: cropOf(picture.data, 3).data },
    mask: cropOf(blurred, 1).data,
    pasteTo: { x: x1, y: y1, width: x2 - x1, height: y2 - y1, pictureWidth: picture.width, pictureHeight: picture.height },
  };
}

/** `get_crop_region_v2`: the bounding box of the non-zero pixels (`getbbox`), padded within the picture. */
export function cropRegion(mask: Uint8Array, width: number, height: number, padding: number): Region | undefined {
  let [x1, y1, x2, y2] = [width, height, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
    }
  }
  if (x2 === 0) return undefined;
  return [Math.max(x1 - padding, 0), Math.max(y1 - padding, 0), Math.min(x2 + padding, width), Math.min(y2 + padding, height)];
}

/**
 * `expand_crop_region`: the region grown on its short side to the working size's ratio (by the whole pixels of the
 * difference, half each way), moved back inside the picture, and cut at its edge when the picture is too small.
 */
export function expandCropRegion(region: Region, processingWidth: number, processingHeight: number, imageWidth: number, imageHeight: number): Region {
  const [x1, y1, x2, y2] = region;
  const ratioProcessing = processingWidth / processingHeight;
  if ((x2 - x1) / (y2 - y1) > ratioProcessing) {
    const [top, bottom] = grow(y1, y2, Math.trunc((x2 - x1) / ratioProcessing - (y2 - y1)), imageHeight);
    return [x1, top, x2, bottom];
  }
  const [left, right] = grow(x1, x2, Math.trunc((y2 - y1) * ratioProcessing - (x2 - x1)), imageWidth);
  return [left, y1, right, y2];
}

/** One axis of `expand_crop_region`: `[start, end)` grown by `diff`, kept within `[0, size]`. */
function grow(start: number, end: number, diff: number, size: number): [number, number] {
  let [a, b] = [start - Math.floor(diff / 2), end + diff - Math.floor(diff / 2)];
  if (b >= size) [a, b] = [a - (b - size), size];
  if (a < 0) [a, b] = [0, b - a];
  return [a, Math.min(b, size)];
}
