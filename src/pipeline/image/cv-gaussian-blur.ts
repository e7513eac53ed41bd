// OpenCV's `cv2.GaussianBlur` on an 8-bit plane with a one-dimensional kernel (`ksize` (k, 1) or (1, k)), as A1111
// blurs an inpainting mask. For 8-bit images OpenCV computes it bit-exactly in fixed point: the Gaussian's weights
// (`getGaussianKernelBitExact`) are turned into integers in 1/256 by error diffusion that sums to exactly 256
// (`getGaussianKernelFixedPoint_ED`), each output is `(Σ pixel · weight + 128) >> 8`, and the border is
// `BORDER_REFLECT_101`.
import { reflect101 } from './border.js';

/** The blur's direction: `horizontal` is `ksize` (k, 1) (along each row), `vertical` is (1, k). */
export type BlurAxis = 'horizontal' | 'vertical';

/**
 * `cv2.GaussianBlur(plane, ksize, sigma)` along one axis of a `width × height` 8-bit plane.
 * @param kernelSize - the kernel's length k, odd, ≥ 1 (A1111: `2·int(2.5σ + 0.5) + 1`).
 * @param sigma - the Gaussian's standard deviation in pixels, > 0.
 */
export function cvGaussianBlur(plane: Uint8Array, width: number, height: number, axis: BlurAxis, kernelSize: number, sigma: number): Uint8Array {
  if (!(Number.isInteger(kernelSize) && kernelSize >= 1 && kernelSize % 2 === 1)) {
    throw new RangeError(`Expected an odd kernel size ≥ 1, got ${kernelSize}`);
  }
  if (!(sigma > 0)) throw new RangeError(`Expected a Gaussian σ above 0, got ${sigma}`);
  if (kernelSize === 1) return plane.slice();
  const weights = fixedPointKernel(kernelSize, sigma);
  const radius = (kernelSize - 1) / 2;
  const [length, lines, step, lineStep] = axis === 'horizontal' ? [width, height, 1, width] : [height, width, width, 1];
  const out = new Uint8Array(plane.length);
  for (let line = 0; line < lines; line++) {
    const base = line * lineStep;
    for (let i = 0; i < length; i++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += (weights[k + radius] ?? 0) * (plane[base + reflect101(i + k, length) * step] ?? 0);
      out[base + i * step] = Math.min(255, (sum + 128) >> 8);
    }
  }
  return out;
}

/** `getGaussianKernelBitExact` then `getGaussianKernelFixedPoint_ED` with 8 fraction bits: integer weights summing to 256. */
function fixedPointKernel(n: number, sigma: number): Int32Array {
  const half = (n - 1) / 2;
  // The exact kernel: exp(−x²/(2σ²)) at x = i − half, normalized (x computed as (2i + 1 − n)/2, as OpenCV does).
  const scale2X = (-0.5 * 0.25) / (sigma * sigma);
  const values: number[] = [];
  let sum = 0;
  for (let i = 0, x = 1 - n; i < half; i++, x += 2) {
    const t = Math.exp(x * x * scale2X);
    values.push(t);
    sum += t;
  }
  sum = sum * 2 + 1;
  const exact = values.map((v) => v * (1 / sum));
  // Error diffusion from the outside in; the centre takes what makes the sum exactly 1.
  const weights = new Int32Array(n);
  let error = 0;
  let total = 0;
  for (let i = 0; i < half; i++) {
    const adjusted = (exact[i] ?? 0) * 256 + error;
    const rounded = cvRound(adjusted);
    error = adjusted - rounded;
    weights[i] = rounded;
    weights[n - 1 - i] = rounded;
    total += rounded;
  }
  weights[half] = 256 - 2 * total;
  return weights;
}

/** OpenCV's `cvRound` of a double: to nearest, ties to even (`lrint` in the default rounding mode). */
function cvRound(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
