import { reflect101 } from './border.js';
import type { Mask } from './types.js';

/**
 * `mask` with its edge softened by a Gaussian blur of standard deviation `blurPixels`, like A1111's "Mask blur":
 * `cv2.GaussianBlur` with kernel size `2·int(2.5σ + 0.5) + 1`, horizontally then vertically, mirrored at the
 * image border (OpenCV's default `BORDER_REFLECT_101`). A1111 rounds to 8 bits between the passes; this keeps
 * floats. The result ramps from 0 to 1 across the edge and is meant for `compositeOutsideMask`, not for the
 * model; pixels farther than the kernel radius from the edge keep exactly 0 or 1.
 *
 * @param blurPixels - σ in pixels, ≥ 0; 0 returns `mask` unchanged.
 */
export function featherMask(mask: Mask, blurPixels: number): Mask {
  if (!(Number.isFinite(blurPixels) && blurPixels >= 0)) {
    throw new RangeError(`mask blur must be a finite number ≥ 0, got ${blurPixels}`);
  }
  if (blurPixels === 0) return mask;
  const kernel = gaussianKernel(blurPixels);
  const { width, height } = mask;
  const horizontal = convolve(mask.data, kernel, width, height, 1, width);
  const data = convolve(horizontal, kernel, height, width, width, 1);
  return { width, height, channels: 1, data };
}

/** OpenCV's `getGaussianKernel(2·int(2.5σ + 0.5) + 1, σ)`: `exp(−i² / 2σ²)` for i in [−r, r], summing to 1. */
function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.trunc(2.5 * sigma + 0.5);
  const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, k) => {
    const i = k - radius;
    return Math.exp((-i * i) / (2 * sigma * sigma));
  });
  const sum = kernel.reduce((a, b) => a + b, 0);
  return kernel.map((w) => w / sum);
}

/**
 * A 1-D convolution along one axis of a plane: `length` samples per line, `lines` lines, consecutive samples
 * `step` apart and consecutive lines `lineStep` apart (so the same code blurs rows and columns).
 */
function convolve(
  src: Float32Array,
  kernel: Float64Array,
  length: number,
  lines: number,
  step: number,
  lineStep: number,
): Float32Array {
  const radius = (kernel.length - 1) / 2;
  const out = new Float32Array(src.length);
  for (let line = 0; line < lines; line++) {
    const base = line * lineStep;
    for (let i = 0; i < length; i++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * src[base + reflect101(i + k, length) * step]!;
      out[base + i * step] = sum;
    }
  }
  return out;
}
