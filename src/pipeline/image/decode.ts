import sharp from 'sharp';
import type { Metadata, OutputInfo } from 'sharp';
import { bytesToUnit } from './convert.js';
import { formatMillions, ImageInputError } from './errors.js';
import { readPngChunks } from './pngChunks.js';
import type { GrayImage, RgbImage } from './types.js';

/** The file formats accepted as input images. */
export type InputFormat = 'png' | 'jpeg' | 'webp';

const INPUT_FORMATS: readonly string[] = ['png', 'jpeg', 'webp'] satisfies InputFormat[];

/** What the caller allows for one uploaded file. */
export interface DecodeLimits {
  /** Largest accepted width × height (after EXIF rotation), checked from the header before any pixel is decoded. */
  readonly maxPixels: number;
  /** Largest accepted file size in bytes; no limit when absent. */
  readonly maxBytes?: number;
}

/** A decoded input image. */
export interface DecodedImage {
  /** The format found in the bytes themselves (never taken from a file name or MIME type). */
  readonly format: InputFormat;
  /** The colour channels, upright (EXIF orientation applied), as sRGB floats `byte / 255`. */
  readonly image: RgbImage;
  /** The alpha channel (1 = opaque), present when the file has one, even if every pixel is opaque. */
  readonly alpha?: GrayImage;
}

/**
 * Decodes an uploaded PNG, JPEG or WebP. Checks run cheapest first, and the pixel count is checked from the
 * header before any pixel is decoded, so a decompression bomb costs nothing; sharp's `limitInputPixels` guards
 * the decode itself as well.
 *
 * @throws {ImageInputError} `TOO_LARGE` (file size), `NOT_AN_IMAGE`, `UNSUPPORTED_FORMAT` (GIF, SVG, TIFF,
 *   HEIF, …), `ANIMATED` (more than one frame, APNG included), `TOO_MANY_PIXELS`, or `CORRUPT` (truncated or
 *   damaged data).
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  checkFileSize(bytes.length, limits.maxBytes);
  const metadata = await readMetadata(bytes);
  const format = acceptedFormat(metadata.format);
  checkSingleFrame(bytes, format, metadata.pages ?? 1);
  const { width, height } = metadata.autoOrient;
  checkPixelCount(width, height, limits.maxPixels);
  return { format, ...(await decodePixels(bytes, metadata.hasAlpha, limits.maxPixels)) };
}

function checkFileSize(size: number, maxBytes: number | undefined): void {
  if (size === 0) throw new ImageInputError('NOT_AN_IMAGE', 'The file is empty.');
  if (maxBytes !== undefined && size > maxBytes) {
    throw new ImageInputError(
      'TOO_LARGE',
      `The file is ${formatMillions(size)} MB; the limit is ${formatMillions(maxBytes)} MB.`,
    );
  }
}

/** The header only. No pixel limit here: a huge image must still report its size so the member learns it. */
async function readMetadata(bytes: Uint8Array): Promise<Metadata> {
  try {
    return await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    // sharp has no error codes; this message is the one libvips gives when no loader recognises the bytes.
    if (error instanceof Error && error.message.includes('unsupported image format')) {
      throw new ImageInputError('NOT_AN_IMAGE', 'This file is not an image. Send a PNG, JPEG or WebP.', {
        cause: error,
      });
    }
    throw corrupt(error);
  }
}

function acceptedFormat(format: string): InputFormat {
  if (!INPUT_FORMATS.includes(format)) {
    throw new ImageInputError(
      'UNSUPPORTED_FORMAT',
      `${format.toUpperCase()} images are not supported. Send a PNG, JPEG or WebP.`,
    );
  }
  return format as InputFormat;
}

function checkSingleFrame(bytes: Uint8Array, format: InputFormat, pages: number): void {
  const frames = format === 'png' ? apngFrameCount(bytes) : pages;
  if (frames > 1) {
    throw new ImageInputError(
      'ANIMATED',
      `Animated images are not supported (this one has ${frames} frames). Send a still PNG, JPEG or WebP.`,
    );
  }
}

/**
 * Frames declared by an APNG's `acTL` chunk, 1 for a plain PNG. libvips reads only an APNG's default image and
 * reports one page, so the animation is found here instead (`acTL` must precede the first `IDAT`).
 */
function apngFrameCount(png: Uint8Array): number {
  for (const chunk of readPngChunks(png)) {
    if (chunk.type === 'IDAT') break;
    if (chunk.type === 'acTL' && chunk.data.length >= 4) {
      return new DataView(chunk.data.buffer, chunk.data.byteOffset, 4).getUint32(0);
    }
  }
  return 1;
}

function checkPixelCount(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageInputError(
      'TOO_MANY_PIXELS',
      `The image is ${width}×${height} (${formatMillions(width * height)} MP); ` +
        `the limit is ${formatMillions(maxPixels)} MP.`,
    );
  }
}

/**
 * Decodes to 8-bit sRGB (16-bit files scaled down, grey expanded to RGB, embedded colour profiles applied),
 * then splits off the alpha channel. `failOn: 'warning'` rejects truncated data instead of padding it with grey.
 */
async function decodePixels(
  bytes: Uint8Array,
  hasAlpha: boolean,
  maxPixels: number,
): Promise<{ image: RgbImage; alpha?: GrayImage }> {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    const pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning', autoOrient: true })
      .toColourspace('srgb');
    decoded = await (hasAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha())
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw corrupt(error);
  }
  const { width, height, channels } = decoded.info;
  const planes = splitAlpha(decoded.data, channels);
  const image: RgbImage = { width, height, channels: 3, data: bytesToUnit(planes.rgb) };
  if (planes.alpha === undefined) return { image };
  return { image, alpha: { width, height, channels: 1, data: bytesToUnit(planes.alpha) } };
}

/** Separates interleaved RGBA bytes into RGB and A; RGB input passes through. */
function splitAlpha(pixels: Uint8Array, channels: number): { rgb: Uint8Array; alpha?: Uint8Array } {
  if (channels === 3) return { rgb: pixels };
  const count = pixels.length / 4;
  const rgb = new Uint8Array(count * 3);
  const alpha = new Uint8Array(count);
  for (let p = 0; p < count; p++) {
    rgb[p * 3] = pixels[p * 4]!;
    rgb[p * 3 + 1] = pixels[p * 4 + 1]!;
    rgb[p * 3 + 2] = pixels[p * 4 + 2]!;
    alpha[p] = pixels[p * 4 + 3]!;
  }
  return { rgb, alpha };
}

function corrupt(cause: unknown): ImageInputError {
  return new ImageInputError('CORRUPT', 'The image file is damaged or incomplete; try saving it again.', { cause });
}
