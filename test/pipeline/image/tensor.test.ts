import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeImage,
  fromModelOutput,
  fromRgb8,
  toModelTensor,
  toRgb8,
} from '../../../src/pipeline/image/index.js';
import { readF32, readReference } from './helpers.js';

/** HWC [0,1] → NCHW `2x − 1` in float32, written out the slow, obvious way. */
function expectedTensor(hwc: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(hwc.length);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        out[(c * height + y) * width + x] = Math.fround(2 * hwc[(y * width + x) * 3 + c]! - 1);
      }
    }
  }
  return out;
}

describe('toModelTensor', () => {
  it('turns init_image.f32 into exactly what diffusers feeds the VAE encoder (2x − 1, NCHW)', async () => {
    const f32 = await readF32('init_image.f32');
    const tensor = toModelTensor({ width: 64, height: 64, channels: 3, data: f32 });
    assert.deepEqual(tensor, expectedTensor(f32, 64, 64));
  });

  it('turns the decoded init_image.png into (byte / 255) · 2 − 1 exactly', async () => {
    const { image } = await decodeImage(await readReference('init_image.png'), { maxPixels: 1e6 });
    const bytes = Float32Array.from(await readF32('init_image.f32'), (f) => Math.round(f * 255) / 255);
    assert.deepEqual(toModelTensor(image), expectedTensor(bytes, 64, 64));
  });

  it('keeps values in [−1, 1] and maps 0 → −1, 1 → 1', () => {
    const tensor = toModelTensor({ width: 1, height: 1, channels: 3, data: Float32Array.of(0, 0.5, 1) });
    assert.deepEqual(tensor, Float32Array.of(-1, 0, 1));
  });
});

describe('fromModelOutput', () => {
  it('maps x / 2 + 0.5, clamps to [0, 1], and splits a batch into HWC images', () => {
    // n = 2 images of 1 × 2 pixels: NCHW planes R, G, B per image.
    const sample = Float32Array.of(
      ...[-1, 1], ...[0, 0.5], ...[2, -3], // image 0: R plane, G plane, B plane
      ...[0.25, -0.25], ...[1, 1], ...[-1, -1], // image 1
    );
    const [first, second] = fromModelOutput(sample, 2, 1, 2);
    assert.deepEqual(first, { width: 2, height: 1, channels: 3, data: Float32Array.of(0, 0.5, 1, 1, 0.75, 0) });
    assert.deepEqual(second?.data, Float32Array.of(0.625, 1, 0, 0.375, 1, 0));
  });

  it('rejects a sample of the wrong length', () => {
    assert.throws(() => fromModelOutput(new Float32Array(11), 1, 2, 2), RangeError);
  });
});

describe('toRgb8', () => {
  it('rounds x · 255 half to even, like numpy, and clamps', () => {
    const tie2 = Math.fround(2.5 / 255); // x · 255 is exactly 2.5 in float32
    assert.equal(Math.fround(tie2 * 255), 2.5);
    const data = Float32Array.of(0.5, tie2, -0.1, 1.2, 0.002, 1);
    assert.deepEqual(toRgb8({ width: 2, height: 1, channels: 3, data }).data, Uint8Array.of(128, 2, 0, 255, 1, 255));
  });

  it('returns every byte unchanged after fromRgb8', () => {
    const bytes = Uint8Array.from({ length: 255 }, (_, i) => i + 1);
    const image = { width: 85, height: 1, data: bytes };
    assert.deepEqual(toRgb8(fromRgb8(image)), image);
  });
});
