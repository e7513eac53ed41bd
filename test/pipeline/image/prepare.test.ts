import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binarizeMask,
  planWorkingSize,
  regionMask,
  toWorkingSize,
} from '../../../src/pipeline/image/index.js';
import type { RgbImage } from '../../../src/pipeline/image/index.js';

const BOX = { width: 512, height: 512 };

/** An image whose every sample encodes its position, so crops can be checked pixel by pixel. */
function positional(width: number, height: number): RgbImage {
  const data = Float32Array.from({ length: width * height * 3 }, (_, i) => (i % 251) / 255);
  return { width, height, channels: 3, data };
}

describe('planWorkingSize', () => {
  it('keeps an image that fits and has sides in multiples of 8', () => {
    assert.deepEqual(planWorkingSize(64, 64, BOX), { width: 64, height: 64, from: { width: 64, height: 64 }, method: 'none' });
  });

  it('crops a small image to multiples of 8 instead of resampling it', () => {
    const plan = planWorkingSize(100, 60, BOX);
    assert.deepEqual([plan.width, plan.height, plan.method], [96, 56, 'crop']);
  });

  it('scales a large image down into the box, keeping the aspect ratio and rounding down to multiples of 8', () => {
    const cases: [number, number, { width: number; height: number }, [number, number]][] = [
      [1000, 500, BOX, [512, 256]],
      [1024, 768, BOX, [512, 384]],
      [700, 1000, BOX, [352, 512]], // 700 · 0.512 = 358.4 → 352
      [3000, 1000, { width: 768, height: 768 }, [768, 256]],
      [4032, 3024, { width: 768, height: 512 }, [680, 512]], // height-limited: 4032 · 512/3024 = 682.67 → 680
      [10000, 10, { width: 768, height: 768 }, [768, 8]], // never below 8
    ];
    for (const [width, height, max, [w, h]] of cases) {
      const plan = planWorkingSize(width, height, max);
      assert.deepEqual([plan.width, plan.height, plan.method], [w, h, 'resize'], `${width}×${height}`);
    }
  });

  it('stretches a side shorter than 8 pixels to 8', () => {
    const plan = planWorkingSize(5, 100, BOX);
    assert.deepEqual([plan.width, plan.height, plan.method], [8, 96, 'resize']);
  });

  it('rejects a box whose sides are not multiples of 8', () => {
    assert.throws(() => planWorkingSize(64, 64, { width: 500, height: 512 }), RangeError);
  });
});

describe('toWorkingSize', () => {
  it('crops centrally and keeps every remaining pixel exactly', async () => {
    const image = positional(100, 60);
    const cropped = await toWorkingSize(image, planWorkingSize(100, 60, BOX));
    assert.equal(cropped.width, 96);
    assert.equal(cropped.height, 56);
    // (100 − 96) / 2 = 2 columns and (60 − 56) / 2 = 2 rows are cut on each side.
    for (const [x, y] of [[0, 0], [95, 55], [40, 17]] as const) {
      for (let c = 0; c < 3; c++) {
        assert.equal(cropped.data[(y * 96 + x) * 3 + c], image.data[((y + 2) * 100 + x + 2) * 3 + c]);
      }
    }
  });

  it('resamples a large image to the planned size; a flat colour stays exactly that colour', async () => {
    const grey = { width: 300, height: 200, channels: 3 as const, data: new Float32Array(300 * 200 * 3).fill(100 / 255) };
    const plan = planWorkingSize(300, 200, { width: 128, height: 128 });
    const resized = await toWorkingSize(grey, plan);
    assert.deepEqual([resized.width, resized.height], [128, 80]); // 200 · 128/300 = 85.3 → 80
    assert.ok(resized.data.every((v) => v === Math.fround(100 / 255)));
  });

  it('keeps a mask aligned with its image, binary again after binarizeMask', async () => {
    const mask = regionMask('left', 320, 160);
    const plan = planWorkingSize(320, 160, { width: 160, height: 160 });
    const small = binarizeMask(await toWorkingSize(mask, plan));
    assert.deepEqual([small.width, small.height], [160, 80]);
    for (let x = 0; x < 160; x++) assert.equal(small.data[40 * 160 + x], x < 80 ? 1 : 0, `x = ${x}`);
  });

  it('refuses a plan made for another size', async () => {
    await assert.rejects(toWorkingSize(positional(64, 64), planWorkingSize(100, 60, BOX)), RangeError);
  });
});
