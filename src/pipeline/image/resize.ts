import sharp from 'sharp';
import { bytesToUnit, unitToBytes } from './convert.js';
import type { FloatImage, GrayImage } from './types.js';

/**
 * Resamples interleaved 8-bit pixels to `width × height` (aspect ratio not kept) with a Lanczos-3 filter, the
 * filter diffusers' image processor and A1111's "Just resize" use (through Pillow); downscaling filters over the
 * whole source footprint, so no aliasing. Upscaling (here only for sides under 8 pixels) samples a quarter of a
 * source pixel off Pillow's positions, a libvips convention.
 */
export async function resizeBytes(
  pixels: Uint8Array,
  from: { width: number; height: number; channels: 1 | 3 },
  width: number,
  height: number,
): Promise<Uint8Array> {
  const resized = await sharp(pixels, { raw: from })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    // Without this, sharp turns one-channel output into sRGB with three.
    .toColourspace(from.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer();
  if (resized.length !== width * height * from.channels) {
    throw new Error(`sharp returned ${resized.length} bytes for ${width}×${height}×${from.channels}`);
  }
  return new Uint8Array(resized.buffer, resized.byteOffset, resized.byteLength);
}

/**
 * A float image resampled to `width × height` (see {@link resizeBytes}); `image` itself when already that size.
 * It goes through 8-bit samples, as Pillow's resize does; images decoded from files and binary masks are exact
 * at 8 bits, so only the resampling itself changes them. (sharp reads raw float input as 16-bit and so cannot
 * resample floats directly.)
 */
export async function resizeImage<C extends 1 | 3>(
  image: FloatImage<C>,
  width: number,
  height: number,
): Promise<FloatImage<C>> {
  if (width === image.width && height === image.height) return image;
  const from = { width: image.width, height: image.height, channels: image.channels };
  const bytes = await resizeBytes(unitToBytes(image.data), from, width, height);
  return { width, height, channels: image.channels, data: bytesToUnit(bytes) };
}

/**
 * One plane resampled to `width × height` by bilinear interpolation between pixel centres (Pillow's and torch's
 * `align_corners=False` convention), in floats. For masks that are binarized afterwards: an edge lands exactly
 * where it was, whereas sharp's upscaling shifts it by a quarter of a source pixel. No anti-alias filter, so a
 * line thinner than the reduction factor may vanish when shrinking.
 */
export function resizeBilinear(plane: GrayImage, width: number, height: number): GrayImage {
  const xs = bilinearTaps(plane.width, width);
  const ys = bilinearTaps(plane.height, height);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const { low: y0, high: y1, t: ty } = ys[y]!;
    for (let x = 0; x < width; x++) {
      const { low: x0, high: x1, t: tx } = xs[x]!;
      const top = lerp(plane.data[y0 * plane.width + x0]!, plane.data[y0 * plane.width + x1]!, tx);
      const bottom = lerp(plane.data[y1 * plane.width + x0]!, plane.data[y1 * plane.width + x1]!, tx);
      data[y * width + x] = lerp(top, bottom, ty);
    }
  }
  return { width, height, channels: 1, data };
}

/** For each output index, the two source indices around its centre and the weight of the second. */
function bilinearTaps(inSize: number, outSize: number): { low: number; high: number; t: number }[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, i) => {
    const source = Math.min(inSize - 1, Math.max(0, (i + 0.5) * scale - 0.5));
    const low = Math.floor(source);
    return { low, high: Math.min(low + 1, inSize - 1), t: source - low };
  });
}

function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}
