import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outputSize, workingSizeOf } from '../../src/generator/working-size.js';

const SD1 = { nativeSize: 512, maxPixels: Infinity };

/** The plan's size and method, or the refusal's message. */
function planned(width: number, height: number, limits = SD1): string {
  const result = workingSizeOf({ width, height }, limits);
  return result.ok ? `${result.plan.width}×${result.plan.height} ${result.plan.method}` : result.message;
}

describe('workingSizeOf', () => {
  it('keeps a picture that fits, cropping it to multiples of 8', () => {
    assert.equal(planned(64, 64), '64×64 none');
    assert.equal(planned(100, 70), '96×64 crop');
    assert.equal(planned(512, 768), '512×768 none');
  });

  it('scales the short side down to the native size, keeping both sides as large as the rounding allows', () => {
    assert.equal(planned(1000, 750), '680×512 resize');
    assert.equal(planned(1024, 1024), '512×512 resize');
    assert.equal(planned(768, 768, { nativeSize: 768, maxPixels: Infinity }), '768×768 none');
  });

  it('keeps the long side within 2048 and the area within the server\'s pixel limit', () => {
    assert.equal(planned(5000, 600), '2048×240 resize');
    assert.equal(planned(300, 130, { nativeSize: 512, maxPixels: 128 * 128 }), '192×80 resize');
  });

  it('refuses a picture with a side under 64 pixels, before or after scaling', () => {
    assert.equal(planned(40, 200), 'The image is 40×200; each side must be at least 64 pixels.');
    assert.match(planned(4000, 100), /^The image is 4000×100, too long and thin: .* Crop it closer to a square\.$/);
  });
});

describe('outputSize', () => {
  it('is the working size without a source, or for a source that was only cropped', () => {
    assert.deepEqual(outputSize({ width: 64, height: 64 }), { width: 64, height: 64 });
    assert.deepEqual(outputSize({ width: 96, height: 64, source: { inputKey: 'k', width: 100, height: 70 } }), { width: 96, height: 64 });
  });

  it('gives a scaled-down source its aspect ratio back at the working scale', () => {
    assert.deepEqual(outputSize({ width: 680, height: 512, source: { inputKey: 'k', width: 1000, height: 750 } }), { width: 683, height: 512 });
    assert.deepEqual(outputSize({ width: 192, height: 80, source: { inputKey: 'k', width: 300, height: 130 } }), { width: 192, height: 83 });
  });
});
