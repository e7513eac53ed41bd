// A1111's "Inpaint area: Only masked" against test/fixtures/a1111-schedules/inpaint-crop.json: the crop region, its
// expansion to the working size's ratio, the picture and mask cropped and resized ("resize and fill", Pillow 9.5.0's
// LANCZOS with its edge bands), the latent and conditioning masks, the overlay and the result uncropped and
// composited back — transcribed line by line in numpy (make_inpaint_crop.py) — byte for byte, for five masks, paddings
// and working sizes (one with Masked content fill); and Pillow's LANCZOS resize alone, with zero-size boxes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cropRegion, expandCropRegion, maskedArea } from '../../../src/pipeline/a1111/inpaint-crop.js';
import { fillMaskedArea } from '../../../src/pipeline/a1111/inpaint-fill.js';
import { blurredMask, overlayMask, samplingMasks } from '../../../src/pipeline/a1111/inpaint-mask.js';
import { applyOverlay, overlayImage } from '../../../src/pipeline/a1111/inpaint-overlay.js';
import { pillowResize, type ResizeBox } from '../../../src/pipeline/image/pillow-resample.js';

interface CropCase {
  readonly name: string;
  readonly mask: number[];
  readonly blur: number;
  readonly padding: number;
  readonly width: number;
  readonly height: number;
  readonly content: 'original' | 'fill';
  readonly bbox: number[];
  readonly crop_region: number[];
  readonly processing_mask: number[];
  readonly image: number[];
  readonly overlay: number[];
  readonly latent: number[];
  readonly conditioning: number[];
  readonly generated: number[];
  readonly result: number[];
}

const fixture = JSON.parse(readFileSync('test/fixtures/a1111-schedules/inpaint-crop.json', 'utf8')) as {
  width: number;
  height: number;
  picture: number[];
  cases: CropCase[];
  lanczos: { source: number[]; width: number; height: number; resizes: { size: [number, number]; box: number[] | null; result: number[] }[] };
};
const picture = { width: fixture.width, height: fixture.height, data: Uint8Array.from(fixture.picture) };

describe("A1111's Inpaint area: Only masked against its numpy transcription", () => {
  it("Pillow's LANCZOS resize: shrinking, enlarging, and boxes of zero height or width, byte for byte", () => {
    const { source, width, height, resizes } = fixture.lanczos;
    for (const { size, box, result } of resizes) {
      const resized = pillowResize({ width, height, bands: 3, data: Uint8Array.from(source) }, size[0], size[1], 'lanczos', box ? (box as unknown as ResizeBox) : undefined);
      assert.deepEqual(Array.from(resized.data), result, `${size.join('×')} from ${box ? box.join(',') : 'the whole'}`);
    }
  });

  for (const c of fixture.cases) {
    it(`${c.name}: crop region, working-size picture and masks, overlay and the picture pasted back, byte for byte`, () => {
      const blurred = blurredMask({ width: picture.width, height: picture.height, channels: 1, data: Float32Array.from(c.mask, (v) => v / 255) }, { blur: c.blur, invert: false });
      assert.deepEqual(cropRegion(blurred, picture.width, picture.height, c.padding), c.bbox, 'get_crop_region_v2');
      assert.deepEqual(expandCropRegion(c.bbox as unknown as readonly [number, number, number, number], c.width, c.height, picture.width, picture.height), c.crop_region, 'expand_crop_region');
      const area = maskedArea(picture, blurred, c.padding, c.width, c.height);
      assert.ok(area);
      assert.deepEqual(Array.from(area.mask), c.processing_mask, 'the mask cropped and resized (resize and fill)');
      const worked = c.content === 'fill' ? fillMaskedArea(area.picture, area.mask) : area.picture;
      assert.deepEqual(Array.from(worked.data), c.image, 'the picture cropped and resized');
      const masks = samplingMasks(area.mask, c.width, c.height, c.width / 8, c.height / 8);
      assert.deepEqual(Array.from(masks.latent), c.latent, 'latent mask');
      const shrunk = Array.from({ length: (c.width / 8) * (c.height / 8) }, (_, k) => masks.conditioning[Math.floor(k / (c.width / 8)) * 8 * c.width + (k % (c.width / 8)) * 8]);
      assert.deepEqual(shrunk, c.conditioning, "the inpainting UNet's mask");
      const overlay = overlayImage(picture, overlayMask(blurred, true));
      assert.deepEqual(Array.from(overlay), c.overlay, 'overlay (the blurred mask, not doubled)');
      const generated = { width: c.width, height: c.height, channels: 3 as const, data: Float32Array.from(c.generated) };
      assert.deepEqual(Array.from(applyOverlay(generated, overlay, area.pasteTo).data), c.result, 'uncrop and alpha_composite');
    });
  }

  it('a mask that marks nothing has no area', () => {
    assert.equal(maskedArea(picture, new Uint8Array(picture.width * picture.height), 32, 64, 64), undefined);
  });
});
