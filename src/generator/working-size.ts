import { hiresSize, planWorkingSize, SIZE_MULTIPLE, type Size, type WorkingSize } from '../pipeline/index.js';
import type { Result } from '../refusal.js';
import type { GenerationRequest } from './request.js';

/** The sides the bot generates at: the same bounds as `/imagine`'s `width` and `height`. */
export const SIDE_LIMITS = { min: 64, max: 2048 } as const;

/** What bounds the size a source image is worked on at. */
export interface WorkingLimits {
  /** The side of the square the model was trained at (512 for SD 1.x). */
  readonly nativeSize: number;
  /** Largest width × height (the server's `maxPixels`). */
  readonly maxPixels: number;
}

/**
 * How a source image of `size` becomes the picture the model works on: scaled down (aspect ratio kept) until its
 * short side is at most the model's native size (larger pictures come out repeated and distorted), its long side
 * at most {@link SIDE_LIMITS}.max and its area at most `maxPixels`, then each side rounded down to a multiple of 8.
 * A smaller image is never enlarged: it only loses the few pixels beyond a multiple of 8 (see `planWorkingSize`).
 *
 * @returns the plan for `toWorkingSize`, or a refusal when a side would be under {@link SIDE_LIMITS}.min.
 */
export function workingSizeOf(size: Size, limits: WorkingLimits): Result<{ plan: WorkingSize }> {
  const { width, height } = size;
  const scale = Math.min(
    1,
    limits.nativeSize / Math.min(width, height),
    SIDE_LIMITS.max / Math.max(width, height),
    Math.sqrt(limits.maxPixels / (width * height)),
  );
  const plan: WorkingSize =
    scale === 1
      ? planWorkingSize(width, height, { width: roundUp(width), height: roundUp(height) })
      : // Scaled by hand rather than fitted into a box by `planWorkingSize`, which would round the side that does
        // not limit the fit down a second time.
        { width: roundDown(width * scale), height: roundDown(height * scale), from: size, method: 'resize' };
  if (plan.width >= SIDE_LIMITS.min && plan.height >= SIDE_LIMITS.min) return { ok: true, plan };
  const message =
    Math.min(width, height) < SIDE_LIMITS.min
      ? `The image is ${width}×${height}; each side must be at least ${SIDE_LIMITS.min} pixels.`
      : `The image is ${width}×${height}, too long and thin: scaled down to the size I work at, one side would be ` +
        `under ${SIDE_LIMITS.min} pixels. Crop it closer to a square.`;
  return { ok: false, code: 'INVALID_OPTION', message };
}

/**
 * The size of a job's pictures: the working size, or a hires fix's target, except for a source image that was
 * scaled down, whose aspect ratio the result gets back (at the working scale, so it is not blown up to the
 * original's pixel count).
 */
export function outputSize(request: Pick<GenerationRequest, 'width' | 'height' | 'source' | 'hires'>): Size {
  const { width, height, source, hires } = request;
  if (hires) return hiresSize(width, height, hires.scale);
  // Within 8 pixels of the working size the source was only cropped to multiples of 8: nothing to restore.
  if (!source || (source.width - width < SIZE_MULTIPLE && source.height - height < SIZE_MULTIPLE)) return { width, height };
  const scale = Math.max(width / source.width, height / source.height);
  return { width: Math.round(source.width * scale), height: Math.round(source.height * scale) };
}

function roundUp(side: number): number {
  return Math.ceil(side / SIZE_MULTIPLE) * SIZE_MULTIPLE;
}

/** `side` down to a multiple of 8 (at least 8); a hair of float error (512/750 · 750) does not cost 8 pixels. */
function roundDown(side: number): number {
  const whole = Math.floor(side + 1e-6);
  return Math.max(SIZE_MULTIPLE, whole - (whole % SIZE_MULTIPLE));
}
