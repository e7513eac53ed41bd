import type { RgbImage } from './types.js';

/**
 * The VAE encoder's input for `image`: NCHW `[1, 3, height, width]` float32 in [−1, 1], `2x − 1` per sample,
 * exactly diffusers' `VaeImageProcessor.preprocess` (`pil_to_numpy`, then `normalize`). Both steps round to
 * float32 once, as torch does, so the result is bit-identical.
 */
export function toModelTensor(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * 3 + c]! * 2 - 1;
  }
  return out;
}

/**
 * The VAE decoder's output as images: `sample` is NCHW `[n, 3, height, width]` in about [−1, 1]; each value
 * becomes `x / 2 + 0.5` clamped to [0, 1] (diffusers' `denormalize`), laid out HWC.
 */
export function fromModelOutput(sample: Float32Array, n: number, height: number, width: number): RgbImage[] {
  const plane = width * height;
  if (sample.length !== n * 3 * plane) {
    throw new RangeError(`expected ${n}×3×${height}×${width} = ${n * 3 * plane} values, got ${sample.length}`);
  }
  return Array.from({ length: n }, (_, i) => {
    const data = new Float32Array(3 * plane);
    const base = i * 3 * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        data[p * 3 + c] = Math.min(1, Math.max(0, sample[base + c * plane + p]! / 2 + 0.5));
      }
    }
    return { width, height, channels: 3, data };
  });
}
