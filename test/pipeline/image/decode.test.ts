import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, ImageInputError } from '../../../src/pipeline/image/index.js';
import type { DecodeLimits, ImageInputErrorCode } from '../../../src/pipeline/image/index.js';
import { insertAfterHeader, PNG_SIGNATURE, pngChunk, readF32, readReference } from './helpers.js';

const LIMITS = { maxPixels: 4_000_000 };

async function rejects(bytes: Uint8Array, code: ImageInputErrorCode, limits: DecodeLimits = LIMITS): Promise<ImageInputError> {
  const error = await decodeImage(bytes, limits).then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ImageInputError, `expected an ImageInputError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}

/** A PNG of `width × height` RGB whose IHDR is real but whose IDAT holds no pixels: tiny, however large it claims. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(0))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * init_image.png's pixels as `byte / 255`. The PNG holds init_image.f32 rounded to 8 bits (the floats are
 * multiples of 1/63, not of 1/255), so the bytes are `round(f · 255)`.
 */
async function pngBytesAsUnit(): Promise<Float32Array> {
  return Float32Array.from(await readF32('init_image.f32'), (f) => Math.round(f * 255) / 255);
}

/** Two 8 × 8 frames (dark, then light) as one animated image. */
async function animated(format: 'webp' | 'gif'): Promise<Buffer> {
  const frames = Buffer.alloc(8 * 16 * 3, 200).fill(10, 0, 8 * 8 * 3);
  return sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } })[format]({ loop: 0 }).toBuffer();
}

describe('decodeImage: accepted formats', () => {
  it('decodes a PNG to byte / 255 floats', async () => {
    const decoded = await decodeImage(await readReference('init_image.png'), LIMITS);
    assert.equal(decoded.format, 'png');
    assert.equal(decoded.image.width, 64);
    assert.equal(decoded.image.height, 64);
    assert.equal(decoded.image.channels, 3);
    assert.deepEqual(decoded.image.data, await pngBytesAsUnit());
    assert.equal(decoded.alpha, undefined);
  });

  it('decodes a lossless WebP to the same pixels', async () => {
    const webp = await sharp(await readReference('init_image.png')).webp({ lossless: true }).toBuffer();
    const decoded = await decodeImage(webp, LIMITS);
    assert.equal(decoded.format, 'webp');
    assert.deepEqual(decoded.image.data, await pngBytesAsUnit());
  });

  it('decodes a JPEG to within its compression error', async () => {
    const jpeg = await sharp(await readReference('init_image.png'))
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const decoded = await decodeImage(jpeg, LIMITS);
    assert.equal(decoded.format, 'jpeg');
    const expected = await pngBytesAsUnit();
    const worst = decoded.image.data.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
    assert.ok(worst <= 4 / 255, `max difference ${worst * 255}/255`);
  });

  it('expands a greyscale PNG to RGB', async () => {
    const decoded = await decodeImage(await readReference('mask.png'), LIMITS);
    const mask = await readF32('mask.f32');
    assert.equal(decoded.image.channels, 3);
    for (let p = 0; p < mask.length; p++) {
      for (let c = 0; c < 3; c++) assert.equal(decoded.image.data[p * 3 + c], mask[p]);
    }
  });

  it('splits off the alpha channel and keeps the colour under transparent pixels', async () => {
    // 2 × 1: an opaque red pixel, then a fully transparent blue one.
    const rgba = Buffer.from([255, 0, 0, 255, 0, 0, 255, 0]);
    const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    const decoded = await decodeImage(png, LIMITS);
    assert.deepEqual(decoded.alpha?.data, Float32Array.of(1, 0));
    assert.deepEqual(decoded.image.data, Float32Array.of(1, 0, 0, 0, 0, 1));
  });

  it('applies the EXIF orientation of a phone photo', async () => {
    // 32 wide, 16 high, left half white; orientation 6 means "rotate 90° clockwise to display".
    const pixels = Buffer.alloc(32 * 16 * 3);
    for (let y = 0; y < 16; y++) pixels.fill(255, y * 32 * 3, (y * 32 + 16) * 3);
    const jpeg = await sharp(pixels, { raw: { width: 32, height: 16, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const { image } = await decodeImage(jpeg, LIMITS);
    assert.equal(image.width, 16);
    assert.equal(image.height, 32);
    // After the rotation the white half is on top.
    assert.ok(image.data[(4 * 16 + 8) * 3]! > 0.9);
    assert.ok(image.data[(28 * 16 + 8) * 3]! < 0.1);
  });
});

describe('decodeImage: rejections', () => {
  it('rejects GIF, even when the file claims to be something else', async () => {
    const gif = await sharp(await readReference('init_image.png')).gif().toBuffer();
    const error = await rejects(gif, 'UNSUPPORTED_FORMAT');
    assert.equal(error.message, 'GIF images are not supported. Send a PNG, JPEG or WebP.');
  });

  it('rejects SVG', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>');
    await rejects(svg, 'UNSUPPORTED_FORMAT');
  });

  it('rejects TIFF', async () => {
    await rejects(await sharp(await readReference('init_image.png')).tiff().toBuffer(), 'UNSUPPORTED_FORMAT');
  });

  it('rejects text and empty files as not images', async () => {
    await rejects(Buffer.from('this is a PNG, trust me'), 'NOT_AN_IMAGE');
    await rejects(new Uint8Array(0), 'NOT_AN_IMAGE');
  });

  it('finds the real format from the content, not the claimed type', async () => {
    // A JPEG a member named "photo.png" is decoded as the JPEG it is.
    const jpeg = await sharp(await readReference('init_image.png')).jpeg().toBuffer();
    assert.equal((await decodeImage(jpeg, LIMITS)).format, 'jpeg');
  });

  it('rejects truncated PNG and JPEG files as corrupt', async () => {
    const png = await readReference('init_image.png');
    await rejects(png.subarray(0, png.length - 40), 'CORRUPT');
    const jpeg = await sharp(png).jpeg().toBuffer();
    await rejects(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'CORRUPT');
    await rejects(png.subarray(0, 20), 'CORRUPT');
  });

  it('rejects animated WebP, animated GIF and APNG', async () => {
    const error = await rejects(await animated('webp'), 'ANIMATED');
    assert.match(error.message, /2 frames/);
    await rejects(await animated('gif'), 'UNSUPPORTED_FORMAT');
    // An APNG is a PNG with an acTL chunk (frame count 3, loop forever) before its image data.
    const actl = Buffer.alloc(8);
    actl.writeUInt32BE(3, 0);
    const apng = insertAfterHeader(await readReference('init_image.png'), pngChunk('acTL', actl));
    await rejects(apng, 'ANIMATED');
  });

  it('rejects a 20000 × 20000 image from its header, before decoding any pixel', async () => {
    const png = pngHeaderOnly(20000, 20000);
    assert.ok(png.length < 100);
    const before = process.memoryUsage().rss;
    const error = await rejects(png, 'TOO_MANY_PIXELS');
    assert.equal(error.message, 'The image is 20000×20000 (400 MP); the limit is 4 MP.');
    // Decoding would take 1.2 GB; reading the header takes nothing worth measuring.
    assert.ok(process.memoryUsage().rss - before < 200e6);
  });

  it('rejects files larger than maxBytes before looking at them', async () => {
    const png = await readReference('init_image.png');
    assert.equal(png.length, 209);
    const error = await rejects(png, 'TOO_LARGE', { maxPixels: 4_000_000, maxBytes: 100 });
    assert.equal(error.message, 'The file is 0.00021 MB; the limit is 0.0001 MB.');
  });
});
