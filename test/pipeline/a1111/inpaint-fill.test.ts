// A1111's "Masked content: fill" against test/fixtures/a1111-schedules/inpaint-fill.json: modules/masking.py `fill`
// transcribed line by line in numpy with the Pillow 9.5.0 C code it calls (make_inpaint_fill.py): the extended box
// radius of GaussianBlur, one band blurred at each radius of the cascade, the picture pasted through the inverted
// mask, and the filled picture — byte for byte, for a hard mask, a blurred one and a grey one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fillMaskedArea } from '../../../src/pipeline/a1111/inpaint-fill.js';
import { extendedBoxRadius, pillowGaussianBlur } from '../../../src/pipeline/image/pillow-gaussian-blur.js';
import { pasteThroughMask } from '../../../src/pipeline/image/pillow-rgba.js';

const fixture = JSON.parse(readFileSync('test/fixtures/a1111-schedules/inpaint-fill.json', 'utf8')) as {
  width: number;
  height: number;
  picture: number[];
  box_radii: Record<string, number>;
  blurred_band: Record<string, number[]>;
  cases: { name: string; mask: number[]; masked: number[]; filled: number[] }[];
};
const { width, height } = fixture;
const picture = { width, height, data: Uint8Array.from(fixture.picture) };

describe("A1111's Masked content: fill against its numpy transcription", () => {
  it("Pillow's GaussianBlur: the extended box radius in C float, and a band blurred at each radius, byte for byte", () => {
    for (const [radius, expected] of Object.entries(fixture.box_radii)) assert.equal(extendedBoxRadius(Number(radius)), expected, `radius ${radius}`);
    const band = Uint8Array.from({ length: width * height }, (_, p) => picture.data[p * 3] ?? 0);
    for (const [radius, expected] of Object.entries(fixture.blurred_band)) {
      assert.deepEqual(Array.from(pillowGaussianBlur(band, width, height, 1, Number(radius))), expected, `radius ${radius}`);
    }
  });

  for (const c of fixture.cases) {
    it(`${c.name}: the picture pasted through the inverted mask, then filled, byte for byte`, () => {
      const mask = Uint8Array.from(c.mask);
      assert.deepEqual(Array.from(pasteThroughMask(picture, mask.map((v) => 255 - v))), c.masked);
      const filled = fillMaskedArea(picture, mask);
      assert.deepEqual(Array.from(filled.data), c.filled);
    });
  }
});
