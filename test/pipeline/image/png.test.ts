import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import {
  composeGrid,
  encodeGrid,
  encodePng,
  fitUnderSize,
  gridLayout,
  ImageInputError,
  readPngText,
} from '../../../src/pipeline/image/index.js';
import type { Rgb8Image } from '../../../src/pipeline/image/index.js';
import { insertAfterHeader, listChunks, noiseBytes, pngChunk, rawRgb, readReference } from './helpers.js';

const LATIN1_INFOTEXT =
  'a café at dusk, (warm light:1.2)\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64, Model: tiny-sd, Version: dreamcord 0.1.0';
const UNICODE_INFOTEXT =
  '富士山の夕焼け, 🌅 sunset over Mount Fuji\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64, Model: tiny-sd, Version: dreamcord 0.1.0';

async function initImage(): Promise<Rgb8Image> {
  const { data, width, height } = await rawRgb(await readReference('init_image.png'));
  return { width, height, data: new Uint8Array(data) };
}

/** A smooth picture with detail at several scales, as photographs have: lossless codecs keep every bit of it. */
function waves(width: number, height: number): Rgb8Image {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const value = 128 + 60 * Math.sin((x + 17 * c) / 9) * Math.cos(y / 13) + 40 * Math.sin((x * y) / 400 + c) + ((x * 7 + y * 13 + c * 5) % 4);
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return { width, height, data };
}

function flat(width: number, height: number, value: number): Rgb8Image {
  return { width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

describe('encodePng', () => {
  it('writes the pixels losslessly and no text chunk without parameters', async () => {
    const image = await initImage();
    const png = await encodePng(image);
    assert.deepEqual(new Uint8Array((await rawRgb(png)).data), image.data);
    assert.deepEqual(readPngText(png), {});
  });

  it('stores Latin-1 parameters in a tEXt chunk before the image data, with a valid CRC', async () => {
    const png = await encodePng(await initImage(), LATIN1_INFOTEXT);
    const chunks = listChunks(png);
    assert.ok(chunks.every((c) => c.crcOk));
    const types = chunks.map((c) => c.type);
    assert.ok(types.indexOf('tEXt') < types.indexOf('IDAT'));
    const text = chunks.find((c) => c.type === 'tEXt')!.data;
    assert.deepEqual(text, Buffer.concat([Buffer.from('parameters\0', 'latin1'), Buffer.from(LATIN1_INFOTEXT, 'latin1')]));
    assert.deepEqual(readPngText(png), { parameters: LATIN1_INFOTEXT });
  });

  it('stores a Unicode prompt in an uncompressed UTF-8 iTXt chunk, as Pillow does for A1111', async () => {
    const image = await initImage();
    const png = await encodePng(image, UNICODE_INFOTEXT);
    const itxt = listChunks(png).find((c) => c.type === 'iTXt');
    assert.ok(itxt?.crcOk);
    // keyword NUL, compression flag 0, method 0, language "" NUL, translated keyword "" NUL, UTF-8 text
    assert.deepEqual(itxt.data, Buffer.concat([Buffer.from('parameters\0\0\0\0\0'), Buffer.from(UNICODE_INFOTEXT, 'utf8')]));
    assert.equal(readPngText(png).parameters, UNICODE_INFOTEXT);
    // The file still decodes to the same pixels.
    assert.deepEqual(new Uint8Array((await rawRgb(png)).data), image.data);
  });
});

describe('readPngText', () => {
  it('reads zTXt and compressed iTXt chunks too', async () => {
    const png = await readReference('init_image.png');
    const ztxt = pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), deflateSync(Buffer.from('ça va', 'latin1'))]));
    const itxt = pngChunk('iTXt', Buffer.concat([Buffer.from('parameters\0\x01\0en\0\0'), deflateSync(Buffer.from('σ = 1', 'utf8'))]));
    assert.deepEqual(readPngText(insertAfterHeader(insertAfterHeader(png, ztxt), itxt)), {
      Comment: 'ça va',
      parameters: 'σ = 1',
    });
  });

  it('rejects a text chunk with a wrong CRC and bytes that are not a PNG', async () => {
    const chunk = pngChunk('tEXt', Buffer.from('parameters\0hello'));
    chunk[chunk.length - 1]! ^= 0xff;
    const damaged = insertAfterHeader(await readReference('init_image.png'), chunk);
    assert.throws(() => readPngText(damaged), (e: unknown) => e instanceof ImageInputError && e.code === 'CORRUPT');
    const jpeg = await sharp(await readReference('init_image.png')).jpeg().toBuffer();
    assert.throws(() => readPngText(jpeg), (e: unknown) => e instanceof ImageInputError && e.code === 'NOT_AN_IMAGE');
  });
});

describe('grids', () => {
  it("lays images out near-square like A1111's image_grid", () => {
    const layouts = [1, 2, 3, 4, 5, 6, 8, 9].map((n) => [n, gridLayout(n)]);
    assert.deepEqual(layouts, [
      [1, { rows: 1, columns: 1 }],
      [2, { rows: 1, columns: 2 }],
      [3, { rows: 2, columns: 2 }],
      [4, { rows: 2, columns: 2 }],
      [5, { rows: 2, columns: 3 }],
      [6, { rows: 2, columns: 3 }],
      [8, { rows: 3, columns: 3 }],
      [9, { rows: 3, columns: 3 }],
    ]);
    assert.deepEqual(gridLayout(5, 4), { rows: 2, columns: 4 });
    assert.deepEqual(gridLayout(2, 4), { rows: 1, columns: 2 });
  });

  it('places the images in reading order, leaving the spare cell white', async () => {
    const images = [10, 20, 30].map((v) => flat(8, 4, v));
    const png = await encodeGrid(images, { parameters: LATIN1_INFOTEXT });
    const { data, width, height } = await rawRgb(png);
    assert.deepEqual([width, height], [16, 8]);
    const at = (x: number, y: number): number => data[(y * width + x) * 3]!;
    assert.deepEqual([at(0, 0), at(15, 3), at(0, 4), at(15, 7)], [10, 20, 30, 255]);
    assert.equal(readPngText(png).parameters, LATIN1_INFOTEXT);
  });

  it('centres smaller images in cells as large as the largest', () => {
    const grid = composeGrid([flat(8, 8, 50), flat(4, 4, 100)], 2);
    assert.deepEqual([grid.width, grid.height], [16, 8]);
    const at = (x: number, y: number): number => grid.data[(y * 16 + x) * 3]!;
    // The 4 × 4 image sits at (10..13, 2..5) of its 8 × 8 cell starting at x = 8.
    assert.deepEqual([at(9, 2), at(10, 2), at(13, 5), at(14, 5), at(10, 1)], [255, 100, 100, 255, 255]);
  });
});

describe('fitUnderSize', () => {
  it('keeps an image that already fits as its PNG, with the parameters', async () => {
    const image = await initImage();
    const fitted = await fitUnderSize(image, 100_000, LATIN1_INFOTEXT);
    assert.deepEqual([fitted.format, fitted.scaledDown], ['png', false]);
    assert.deepEqual(new Uint8Array((await rawRgb(fitted.bytes)).data), image.data);
    assert.equal(readPngText(fitted.bytes).parameters, LATIN1_INFOTEXT);
  });

  it('sends a PNG over the limit as lossless WebP: the same pixels', async () => {
    const image = await initImage();
    const png = await encodePng(image, LATIN1_INFOTEXT);
    const fitted = await fitUnderSize(image, png.length - 1, LATIN1_INFOTEXT);
    assert.deepEqual([fitted.format, fitted.scaledDown, [fitted.width, fitted.height]], ['webp', false, [image.width, image.height]]);
    assert.ok(fitted.bytes.length < png.length);
    assert.equal((await sharp(fitted.bytes).metadata()).format, 'webp');
    assert.deepEqual(new Uint8Array((await rawRgb(fitted.bytes)).data), image.data);
  });

  it('falls back to a high-quality JPEG of the full size when the lossless WebP is over the limit too', async () => {
    const image = waves(160, 96);
    const webp = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).webp({ lossless: true }).toBuffer();
    const fitted = await fitUnderSize(image, webp.length - 1, LATIN1_INFOTEXT);
    assert.deepEqual([fitted.format, fitted.scaledDown, [fitted.width, fitted.height]], ['jpeg', false, [image.width, image.height]]);
    assert.ok(fitted.bytes.length < webp.length);
    const decoded = await rawRgb(fitted.bytes);
    const meanError = decoded.data.reduce((sum, value, i) => sum + Math.abs(value - (image.data[i] ?? 0)), 0) / decoded.data.length;
    assert.ok(meanError < 2, `mean error ${meanError.toFixed(2)} levels of 255`);
  });

  it('scales an incompressible image down until its JPEG fits, keeping the aspect ratio', async () => {
    const image = { width: 256, height: 128, data: noiseBytes(256 * 128 * 3) }; // about 98 kB as PNG
    const fitted = await fitUnderSize(image, 30_000, UNICODE_INFOTEXT);
    assert.ok(fitted.bytes.length <= 30_000, `${fitted.bytes.length} bytes`);
    assert.deepEqual([fitted.format, fitted.scaledDown], ['jpeg', true]);
    assert.ok(fitted.width < 256);
    assert.ok(Math.abs(fitted.width / fitted.height - 2) < 0.05);
    const decoded = await rawRgb(fitted.bytes);
    assert.deepEqual([decoded.width, decoded.height], [fitted.width, fitted.height]);
  });

  it('refuses a limit not even a 1 × 1 JPEG fits under', async () => {
    const noise = { width: 16, height: 16, data: noiseBytes(16 * 16 * 3) };
    await assert.rejects(fitUnderSize(noise, 200, 'x'.repeat(500)), RangeError);
  });
});
