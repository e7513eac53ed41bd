import { resizeImage } from './resize.js';
import type { FloatImage, Size } from './types.js';

/** Width and height of model inputs must be multiples of this (the VAE's downsampling factor). */
export const SIZE_MULTIPLE = 8;

/**
 * How an input image of size `from` becomes the working image the pipeline uses: `width × height`, both
 * multiples of {@link SIZE_MULTIPLE}. Apply the same plan to the image and to its mask so they stay aligned.
 */
export interface WorkingSize extends Size {
  /** The input size this plan was made for. */
  readonly from: Size;
  /**
   * `none`: the image is used as is. `crop`: a centred crop of fewer than 8 pixels per axis, so every kept
   * pixel is exactly as uploaded. `resize`: a Lanczos resample, for images larger than the working area (scaled
   * down, aspect ratio kept to within 8 pixels) and for sides shorter than 8 pixels (stretched to 8).
   */
  readonly method: 'none' | 'crop' | 'resize';
}

/**
 * Plans the working size of a `width × height` image that must fit within `max`. An image that fits is only
 * cropped to multiples of 8 (diffusers would stretch it by those few pixels instead; cropping keeps the pixels
 * that an inpaint composite must return untouched). A larger one is scaled down to fit, each side rounded down
 * to a multiple of 8.
 *
 * @param max - the largest working size, both sides multiples of 8 (for SD 1.x, e.g. 768 × 768).
 */
export function planWorkingSize(width: number, height: number, max: Size): WorkingSize {
  assertSize({ width, height }, 1, 'image');
  assertSize(max, SIZE_MULTIPLE, 'max');
  const from = { width, height };
  const exceeds = width > max.width || height > max.height;
  const target = exceeds ? fitWithin(from, max) : from;
  const size = { width: roundDownToMultiple(target.width), height: roundDownToMultiple(target.height) };
  if (size.width === width && size.height === height) return { ...size, from, method: 'none' };
  const canCrop = !exceeds && width >= SIZE_MULTIPLE && height >= SIZE_MULTIPLE;
  return { ...size, from, method: canCrop ? 'crop' : 'resize' };
}

/**
 * `image` brought to the planned working size: the image itself, a centred crop, or a Lanczos resample (see
 * {@link WorkingSize}). A resampled mask is no longer binary: binarize it again (`binarizeMask`).
 */
export async function toWorkingSize<C extends 1 | 3>(
  image: FloatImage<C>,
  plan: WorkingSize,
): Promise<FloatImage<C>> {
  if (image.width !== plan.from.width || image.height !== plan.from.height) {
    throw new RangeError(
      `the plan is for a ${plan.from.width}×${plan.from.height} image, got ${image.width}×${image.height}`,
    );
  }
  if (plan.method === 'none') return image;
  if (plan.method === 'resize') return resizeImage(image, plan.width, plan.height);
  return cropCentre(image, plan.width, plan.height);
}

/** The largest size with `size`'s aspect ratio that fits in `max` (one side equal to `max`'s, integers). */
function fitWithin(size: Size, max: Size): Size {
  // Integer cross-multiplication picks the limiting side exactly; a float scale factor could land a hair
  // below `max` and lose a whole multiple of 8 when rounded down.
  if (max.width * size.height <= max.height * size.width) {
    return { width: max.width, height: Math.floor((size.height * max.width) / size.width) };
  }
  return { width: Math.floor((size.width * max.height) / size.height), height: max.height };
}

/** `n` rounded down to a multiple of {@link SIZE_MULTIPLE}, but at least that multiple. */
function roundDownToMultiple(n: number): number {
  return Math.max(SIZE_MULTIPLE, n - (n % SIZE_MULTIPLE));
}

function cropCentre<C extends 1 | 3>(image: FloatImage<C>, width: number, height: number): FloatImage<C> {
  const { channels } = image;
  const left = Math.floor((image.width - width) / 2);
  const top = Math.floor((image.height - height) / 2);
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * image.width + left) * channels;
    data.set(image.data.subarray(start, start + width * channels), y * width * channels);
  }
  return { width, height, channels, data };
}

function assertSize(size: Size, multiple: number, name: string): void {
  for (const side of [size.width, size.height]) {
    if (!Number.isSafeInteger(side) || side < multiple || side % multiple !== 0) {
      const rule = multiple === 1 ? 'positive whole numbers' : `positive multiples of ${multiple}`;
      throw new RangeError(`${name} sides must be ${rule}, got ${size.width}×${size.height}`);
    }
  }
}
