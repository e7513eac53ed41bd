import { bytesToUnit, unitToBytes } from './convert.js';
import { resizeBilinear } from './resize.js';
import type { GrayImage, Mask, RgbImage, Size } from './types.js';

/** Values at or above this count as "repaint" (diffusers' `binarize`: `mask >= 0.5`). */
export const MASK_THRESHOLD = 0.5;

/** `gray` as a binary mask: 1 where the value is at least {@link MASK_THRESHOLD}, else 0. */
export function binarizeMask(gray: GrayImage): Mask {
  return mapPlane(gray, (v) => (v >= MASK_THRESHOLD ? 1 : 0));
}

/**
 * The mask a member drew as a separate image, grey levels kept (A1111's `create_binary_mask` of an opaque mask:
 * `convert('L')`, no threshold): luminance with Pillow's `convert("L")` weights and, when the mask has another
 * size than the image, bilinear resampling onto `size` (see `resizeBilinear`).
 *
 * @param size - the size of the image the mask belongs to.
 */
export function maskLuminance(maskImage: RgbImage, size: Size): Mask {
  const luminance = luma(maskImage);
  const same = luminance.width === size.width && luminance.height === size.height;
  return same ? luminance : resizeBilinear(luminance, size.width, size.height);
}

/** A mask from an image's own alpha channel: transparent pixels (alpha below 0.5) are repainted. */
export function maskFromAlpha(alpha: GrayImage): Mask {
  return mapPlane(alpha, (a) => (a < MASK_THRESHOLD ? 1 : 0));
}

/** Whether nothing would be repainted (no value reaches {@link MASK_THRESHOLD}): explain, don't run. */
export function isEmptyMask(mask: Mask): boolean {
  return mask.data.every((v) => v < MASK_THRESHOLD);
}

/** Whether everything would be repainted (every value reaches {@link MASK_THRESHOLD}): explain, don't run. */
export function isFullMask(mask: Mask): boolean {
  return mask.data.every((v) => v >= MASK_THRESHOLD);
}

/**
 * The mask at latent resolution, `[latentHeight, latentWidth]` row-major, binary: diffusers' inpaint pipeline
 * uses `torch.nn.functional.interpolate(mask, size=(h, w))`, whose default mode `nearest` takes source index
 * `floor(dst · (in / out))` in float32, i.e. the top-left pixel of each 8 × 8 block.
 */
export function maskToLatent(mask: Mask, latentWidth: number, latentHeight: number): Float32Array {
  const xs = nearestSourceIndices(mask.width, latentWidth);
  const ys = nearestSourceIndices(mask.height, latentHeight);
  const out = new Float32Array(latentWidth * latentHeight);
  for (let y = 0; y < latentHeight; y++) {
    for (let x = 0; x < latentWidth; x++) {
      out[y * latentWidth + x] = mask.data[ys[y]! * mask.width + xs[x]!]! >= MASK_THRESHOLD ? 1 : 0;
    }
  }
  return out;
}

/**
 * The masked image the 9-channel inpaint UNet is conditioned on: `imageTensor × (mask < 0.5)`, as diffusers
 * computes `masked_image`. `imageTensor` is NCHW `[n, 3, H, W]` (from `toModelTensor`) with `H × W` the mask's
 * size; repainted pixels become 0 (mid-grey in [−1, 1]).
 */
export function applyMaskToImage(imageTensor: Float32Array, mask: Mask): Float32Array {
  const plane = mask.width * mask.height;
  if (imageTensor.length === 0 || imageTensor.length % (3 * plane) !== 0) {
    throw new RangeError(`expected n×3×${mask.height}×${mask.width} values, got ${imageTensor.length}`);
  }
  const out = new Float32Array(imageTensor.length);
  for (let i = 0; i < imageTensor.length; i++) {
    out[i] = imageTensor[i]! * (mask.data[i % plane]! < MASK_THRESHOLD ? 1 : 0);
  }
  return out;
}

/** torch's `nearest` source index for each of `outSize` outputs (`nearest_neighbor_compute_source_index`). */
function nearestSourceIndices(inSize: number, outSize: number): Int32Array {
  const scale = Math.fround(inSize / outSize);
  return Int32Array.from({ length: outSize }, (_, i) => Math.min(Math.floor(Math.fround(i * scale)), inSize - 1));
}

/** Pillow's `convert("L")`: `(19595 R + 38470 G + 7471 B + 0x8000) >> 16` on the 8-bit samples. */
function luma(image: RgbImage): GrayImage {
  const rgb = unitToBytes(image.data);
  const l = new Uint8Array(image.width * image.height);
  for (let p = 0; p < l.length; p++) {
    l[p] = (rgb[p * 3]! * 19595 + rgb[p * 3 + 1]! * 38470 + rgb[p * 3 + 2]! * 7471 + 0x8000) >> 16;
  }
  return { width: image.width, height: image.height, channels: 1, data: bytesToUnit(l) };
}

function mapPlane(plane: GrayImage, f: (value: number) => number): GrayImage {
  return { width: plane.width, height: plane.height, channels: 1, data: plane.data.map(f) };
}
