import sharp, { type Sharp } from 'sharp';
import { encodePng } from './png.js';
import { resizeBytes } from './resize.js';
import type { Rgb8Image } from './types.js';

/** How a fitted file is encoded; only the PNG carries the `parameters` chunk. */
export type FittedFormat = 'png' | 'webp' | 'jpeg';

/** A picture encoded to fit a byte limit: its format and the size it was encoded at. */
export interface FittedFile {
  readonly bytes: Uint8Array;
  readonly format: FittedFormat;
  readonly width: number;
  readonly height: number;
  /** Whether the picture had to be scaled down (tell the member; the full-size file is not what they get). */
  readonly scaledDown: boolean;
}

/** "High quality": quality 92 with full-resolution colour, where JPEG's artefacts stay out of sight. */
const JPEG_OPTIONS = { quality: 92, chromaSubsampling: '4:4:4' } as const;
/** Each scaling round aims this far below the limit, so that it rarely takes a second round. */
const SAFETY = 0.95;
/** Each scaling round shrinks the area by at least this factor, so the loop always ends. */
const MAX_AREA_STEP = 0.9;

/**
 * Encodes `image` in at most `maxBytes` bytes, best first: (1) PNG with its `parameters` chunk; (2) lossless WebP
 * (the same pixels, typically a quarter smaller, without the parameters); (3) a high-quality JPEG; (4) only when
 * even that is too large, the JPEG of the picture scaled down (Lanczos, aspect ratio kept) until it fits. JPEG size
 * grows roughly with the pixel count, so each round scales the area by the ratio of the budget to the bytes.
 *
 * @throws {RangeError} if even a 1 × 1 JPEG exceeds `maxBytes`.
 */
export async function fitUnderSize(image: Rgb8Image, maxBytes: number, parameters?: string): Promise<FittedFile> {
  const png = await encodePng(image, parameters);
  if (png.length <= maxBytes) return fullSize(image, png, 'png');
  const webp = await encode(image, (pipeline) => pipeline.webp({ lossless: true }));
  if (webp.length <= maxBytes) return fullSize(image, webp, 'webp');
  let current = image;
  let bytes = await encodeJpeg(current);
  while (bytes.length > maxBytes) {
    if (current.width * current.height === 1) throw new RangeError(`a JPEG cannot be made smaller than ${bytes.length} bytes (limit ${maxBytes})`);
    const areaScale = Math.min(MAX_AREA_STEP, (maxBytes / bytes.length) * SAFETY);
    current = await scaleDown(current, Math.sqrt(areaScale));
    bytes = await encodeJpeg(current);
  }
  return { bytes, format: 'jpeg', width: current.width, height: current.height, scaledDown: current !== image };
}

function fullSize(image: Rgb8Image, bytes: Uint8Array, format: FittedFormat): FittedFile {
  return { bytes, format, width: image.width, height: image.height, scaledDown: false };
}

function encodeJpeg(image: Rgb8Image): Promise<Uint8Array> {
  return encode(image, (pipeline) => pipeline.jpeg(JPEG_OPTIONS));
}

async function encode(image: Rgb8Image, format: (pipeline: Sharp) => Sharp): Promise<Uint8Array> {
  const buffer = await format(sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })).toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** `image` with both sides multiplied by `factor` (< 1), at least 1 pixel each. */
async function scaleDown(image: Rgb8Image, factor: number): Promise<Rgb8Image> {
  const width = Math.max(1, Math.floor(image.width * factor));
  const height = Math.max(1, Math.floor(image.height * factor));
  const from = { width: image.width, height: image.height, channels: 3 } as const;
  return { width, height, data: await resizeBytes(image.data, from, width, height) };
}
