import { encodePng, PARAMETERS_KEYWORD, pngTextChunk } from './png.js';
import { resizeBytes } from './resize.js';
import type { Rgb8Image } from './types.js';

/** A PNG that fits a byte limit, and the size it was encoded at. */
export interface FittedPng {
  readonly bytes: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Whether the picture had to be scaled down (tell the member; the full-size file is not what they get). */
  readonly scaledDown: boolean;
}

/** Each scaling round aims this far below the limit, so that it rarely takes a second round. */
const SAFETY = 0.95;
/** Each scaling round shrinks the area by at least this factor, so the loop always ends. */
const MAX_AREA_STEP = 0.9;

/**
 * Encodes `image` as PNG of at most `maxBytes` bytes, always with its `parameters` chunk. Strategy, cheapest
 * first: (1) the normal encoding; (2) maximum zlib compression with adaptive row filters, lossless; (3) scale
 * the picture down (Lanczos, aspect ratio kept) and encode at maximum compression, repeating until it fits.
 * PNG size grows roughly with the pixel count, so each round scales the area by the ratio of the byte budget
 * to the current image bytes. Lossy tricks (palette quantisation) are avoided: they band smooth gradients.
 *
 * @throws {RangeError} if even a 1 × 1 picture with the parameters chunk exceeds `maxBytes`.
 */
export async function fitUnderSize(image: Rgb8Image, maxBytes: number, parameters?: string): Promise<FittedPng> {
  const normal = await encodePng(image, parameters);
  if (normal.length <= maxBytes) return { bytes: normal, width: image.width, height: image.height, scaledDown: false };
  const textBytes = parameters === undefined ? 0 : pngTextChunk(PARAMETERS_KEYWORD, parameters).length;
  let current = image;
  let bytes = await encodePng(current, parameters, 'smallest');
  while (bytes.length > maxBytes) {
    if (current.width * current.height === 1) {
      throw new RangeError(`a PNG cannot be made smaller than ${bytes.length} bytes (limit ${maxBytes})`);
    }
    const budget = Math.max(0, maxBytes - textBytes);
    const areaScale = Math.min(MAX_AREA_STEP, (budget / (bytes.length - textBytes)) * SAFETY);
    current = await scaleDown(current, Math.sqrt(areaScale));
    bytes = await encodePng(current, parameters, 'smallest');
  }
  return { bytes, width: current.width, height: current.height, scaledDown: current !== image };
}

/** `image` with both sides multiplied by `factor` (< 1), at least 1 pixel each. */
async function scaleDown(image: Rgb8Image, factor: number): Promise<Rgb8Image> {
  const width = Math.max(1, Math.floor(image.width * factor));
  const height = Math.max(1, Math.floor(image.height * factor));
  const from = { width: image.width, height: image.height, channels: 3 } as const;
  return { width, height, data: await resizeBytes(image.data, from, width, height) };
}
