import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import {
  applyMaskToImage,
  binarizeMask,
  compositeOutsideMask,
  decodeImage,
  featherMask,
  fromRgb8,
  isEmptyMask,
  isFullMask,
  maskFromAlpha,
  maskLuminance,
  maskToLatent,
  regionMask,
  toRgb8,
} from '../../../src/pipeline/image/index.js';
import type { Mask, MaskRegion, RgbImage } from '../../../src/pipeline/image/index.js';
import { readF32, readReference } from './helpers.js';

const LIMITS = { maxPixels: 1e6 };
const SIZE = { width: 64, height: 64 };

function plane(width: number, height: number, values: ArrayLike<number>): Mask {
  return { width, height, channels: 1, data: Float32Array.from(values) };
}

/** 1 where `inside(x, y)`, else 0. */
function maskWhere(width: number, height: number, inside: (x: number, y: number) => boolean): Mask {
  return plane(width, height, Array.from({ length: width * height }, (_, i) => (inside(i % width, Math.floor(i / width)) ? 1 : 0)));
}

function rgb(width: number, height: number, value: (i: number) => number): RgbImage {
  return { width, height, channels: 3, data: Float32Array.from({ length: width * height * 3 }, (_, i) => value(i)) };
}

/** A mask a member drew as a separate image, binarized as the diffusers-mode product reads it. */
const binaryMaskOf = (image: RgbImage, size: { width: number; height: number }): Mask => binarizeMask(maskLuminance(image, size));

describe('a drawn mask, binarized (maskLuminance, then binarizeMask)', () => {
  it('turns mask.png into mask.f32 ≥ 0.5', async () => {
    const { image } = await decodeImage(await readReference('mask.png'), LIMITS);
    const mask = binaryMaskOf(image, SIZE);
    const expected = Float32Array.from(await readF32('mask.f32'), (v) => (v >= 0.5 ? 1 : 0));
    assert.deepEqual(mask.data, expected);
  });

  it('resizes a mask of another size (bilinear, then binarized) onto the image', async () => {
    // mask.png at half size: its 2× upscale must give back the same rectangle (edges at even pixels).
    const half = await sharp(await readReference('mask.png')).resize(32, 32, { kernel: 'nearest' }).png().toBuffer();
    const { image } = await decodeImage(half, LIMITS);
    assert.deepEqual(binaryMaskOf(image, SIZE).data, await readF32('mask.f32'));
    // ... and from double size, shrinking.
    const double = await sharp(await readReference('mask.png')).resize(128, 128, { kernel: 'nearest' }).png().toBuffer();
    const large = await decodeImage(double, LIMITS);
    assert.deepEqual(binaryMaskOf(large.image, SIZE).data, await readF32('mask.f32'));
  });

  it("binarizes colour masks on Pillow's luminance, white = repaint", () => {
    // red (L 76), grey 127, grey 128, white
    const bytes = { width: 4, height: 1, data: Uint8Array.of(255, 0, 0, 127, 127, 127, 128, 128, 128, 255, 255, 255) };
    const mask = binaryMaskOf(fromRgb8(bytes), { width: 4, height: 1 });
    assert.deepEqual(mask.data, Float32Array.of(0, 0, 1, 1));
  });
});

describe('maskLuminance', () => {
  it("keeps a colour or grey mask's levels (Pillow's luminance, no threshold)", () => {
    const bytes = { width: 4, height: 1, data: Uint8Array.of(255, 0, 0, 127, 127, 127, 128, 128, 128, 255, 255, 255) };
    const mask = maskLuminance(fromRgb8(bytes), { width: 4, height: 1 });
    assert.deepEqual(Array.from(mask.data, (v) => Math.round(v * 255)), [76, 127, 128, 255]);
  });
});

describe('maskFromAlpha', () => {
  it('repaints the transparent pixels (alpha below 0.5)', () => {
    const alpha = plane(4, 1, [0, 127 / 255, 128 / 255, 1]);
    assert.deepEqual(maskFromAlpha(alpha).data, Float32Array.of(1, 1, 0, 0));
  });

  it('reads the alpha of a decoded PNG', async () => {
    const rgba = Buffer.from([9, 9, 9, 0, 9, 9, 9, 255]);
    const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    const { alpha } = await decodeImage(png, LIMITS);
    assert.ok(alpha);
    assert.deepEqual(maskFromAlpha(alpha).data, Float32Array.of(1, 0));
  });
});

describe('regionMask', () => {
  const expected: Record<MaskRegion, (x: number, y: number) => boolean> = {
    left: (x) => x < 48,
    right: (x) => x >= 48,
    top: (_, y) => y < 32,
    bottom: (_, y) => y >= 32,
    center: (x, y) => x >= 24 && x < 72 && y >= 16 && y < 48,
    border: (x, y) => x < 16 || x >= 80 || y < 8 || y >= 56, // 96/8 = 12 → 16, 7·96/8 = 84 → 80; 64/8 = 8
  };
  for (const [region, inside] of Object.entries(expected) as [MaskRegion, typeof expected.left][]) {
    it(`marks the ${region} of a 96 × 64 image`, () => {
      assert.deepEqual(regionMask(region, 96, 64), maskWhere(96, 64, inside));
    });
  }

  it('puts region edges on latent cells, so the latent mask is the same region', () => {
    const latent = maskToLatent(regionMask('center', 96, 64), 12, 8);
    assert.deepEqual(latent, maskWhere(12, 8, (x, y) => x >= 3 && x < 9 && y >= 2 && y < 6).data);
  });
});

describe('isEmptyMask / isFullMask', () => {
  it('recognises all-black and all-white masks only', () => {
    const black = plane(2, 2, [0, 0, 0, 0]);
    const white = plane(2, 2, [1, 1, 1, 1]);
    const some = plane(2, 2, [0, 1, 0, 0]);
    assert.deepEqual([isEmptyMask(black), isFullMask(black)], [true, false]);
    assert.deepEqual([isEmptyMask(white), isFullMask(white)], [false, true]);
    assert.deepEqual([isEmptyMask(some), isFullMask(some)], [false, false]);
  });
});

describe('maskToLatent', () => {
  it("takes the top-left pixel of each 8 × 8 block (torch's nearest)", () => {
    const onBlockCorner = maskWhere(16, 16, (x, y) => x === 8 && y === 8);
    assert.deepEqual(maskToLatent(onBlockCorner, 2, 2), Float32Array.of(0, 0, 0, 1));
    const insideBlock = maskWhere(16, 16, (x, y) => x === 9 && y === 9);
    assert.deepEqual(maskToLatent(insideBlock, 2, 2), Float32Array.of(0, 0, 0, 0));
  });

  it('uses floor(i · in / out) for other ratios', () => {
    // 10 → 4: scale 2.5, sources 0, 2, 5, 7.
    const row = plane(10, 1, [1, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
    assert.deepEqual(maskToLatent(row, 4, 1), Float32Array.of(1, 0, 1, 0));
  });

  it('binarizes a feathered mask at 0.5', () => {
    assert.deepEqual(maskToLatent(plane(2, 1, [0.4, 0.6]), 2, 1), Float32Array.of(0, 1));
  });
});

describe('applyMaskToImage', () => {
  it('zeroes the repainted pixels of every channel and keeps the others', () => {
    // NCHW [1, 3, 1, 2]: pixel 0 repainted, pixel 1 kept.
    const tensor = Float32Array.of(0.5, -0.5, 0.25, -0.25, 1, -1);
    const masked = applyMaskToImage(tensor, plane(2, 1, [1, 0]));
    assert.deepEqual(Array.from(masked, (v) => v + 0), [0, -0.5, 0, -0.25, 0, -1]);
  });

  it('rejects a tensor of another size', () => {
    assert.throws(() => applyMaskToImage(new Float32Array(5), plane(2, 1, [1, 0])), RangeError);
  });
});

describe('featherMask', () => {
  const half = maskWhere(64, 4, (x) => x < 32);

  it('is the identity for a blur of 0 and rejects negative blur', () => {
    assert.equal(featherMask(half, 0), half);
    assert.throws(() => featherMask(half, -1), RangeError);
  });

  it('blurs the edge with the A1111 Gaussian (σ = blur, radius int(2.5σ + 0.5))', () => {
    const sigma = 2;
    const radius = 5;
    const weights = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
    const total = weights.reduce((a, b) => a + b);
    // At x = 31 the kernel covers x = 26..36, of which 26..31 (offsets −5..0) are inside the mask.
    const at31 = weights.slice(0, radius + 1).reduce((a, b) => a + b) / total;
    const feathered = featherMask(half, sigma);
    for (let y = 0; y < 4; y++) {
      const row = feathered.data.subarray(y * 64, y * 64 + 64);
      assert.ok(Math.abs(row[31]! - at31) < 1e-6, `row ${y}: ${row[31]} vs ${at31}`);
      assert.ok(Math.abs(row[31]! + row[32]! - 1) < 1e-6); // symmetric about the edge
      for (let x = 0; x < 64; x++) {
        if (x < 32 - radius) assert.equal(row[x], 1, `x = ${x}`);
        if (x >= 32 + radius) assert.equal(row[x], 0, `x = ${x}`);
        if (x > 0) assert.ok(row[x]! <= row[x - 1]!);
      }
    }
  });

  it('mirrors at the border, so a full mask stays full', () => {
    const full = maskWhere(20, 12, () => true);
    assert.ok(featherMask(full, 6).data.every((v) => v === 1));
  });
});

describe('compositeOutsideMask', () => {
  it('keeps the pixels outside the feathered mask exactly as uploaded', async () => {
    const uploaded = await readReference('init_image.png');
    const { image: original } = await decodeImage(uploaded, LIMITS);
    const generated = rgb(64, 64, (i) => 1 - original.data[i]!);
    const mask = featherMask(regionMask('center', 64, 64), 4); // centre 16..47, blur radius 10
    const out = toRgb8(compositeOutsideMask(original, generated, mask));
    const uploadedBytes = new Uint8Array(await sharp(uploaded).raw().toBuffer());
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const i = (y * 64 + x) * 3;
        const outside = x < 6 || x >= 58 || y < 6 || y >= 58;
        const inside = x >= 26 && x < 38 && y >= 26 && y < 38;
        if (outside) assert.deepEqual(out.data.subarray(i, i + 3), uploadedBytes.subarray(i, i + 3), `(${x}, ${y})`);
        if (inside) assert.deepEqual(out.data.subarray(i, i + 3), Uint8Array.from(uploadedBytes.subarray(i, i + 3), (b) => 255 - b));
      }
    }
  });

  it('rejects images of different sizes', () => {
    assert.throws(() => compositeOutsideMask(rgb(2, 2, () => 0), rgb(2, 1, () => 0), plane(2, 2, [0, 0, 0, 0])), RangeError);
  });
});
