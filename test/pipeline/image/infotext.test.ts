import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatInfotext, InfotextError, parseInfotext } from '../../../src/pipeline/image/index.js';
import type { InfotextParams } from '../../../src/pipeline/image/index.js';

/** The example of docs a1111-conventions.md ("Infotext"), field by field. */
const A1111_EXAMPLE: InfotextParams = {
  prompt: 'a photograph of an astronaut riding a horse',
  negativePrompt: 'blurry, low quality',
  steps: 25,
  sampler: 'DPM++ 2M',
  scheduleType: 'Karras',
  cfgScale: 7,
  seed: 3141592653n,
  width: 512,
  height: 768,
  model: 'v1-5-pruned-emaonly',
  modelHash: '6ce0161689',
  denoisingStrength: 0.45,
  clipSkip: 2,
  version: 'v1.10.1',
};
const A1111_EXAMPLE_TEXT =
  'a photograph of an astronaut riding a horse\n' +
  'Negative prompt: blurry, low quality\n' +
  'Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 3141592653, Size: 512x768, ' +
  'Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.45, Clip skip: 2, Version: v1.10.1';

const INPAINT: InfotextParams = {
  prompt: 'a wooden window',
  steps: 20,
  sampler: 'Euler a',
  cfgScale: 7.5,
  seed: 7n,
  width: 512,
  height: 512,
  model: 'tiny-sd-inpaint',
  denoisingStrength: 1,
  rng: 'CPU',
  maskBlur: 4,
  extra: { 'Dreamcord job': 'j-42', 'Source job': 'j-41', 'Mask source': 'region: border' },
  version: 'dreamcord 0.1.0',
};
const INPAINT_TEXT =
  'a wooden window\n' +
  'Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 7, Size: 512x512, Model: tiny-sd-inpaint, ' +
  'Denoising strength: 1, RNG: CPU, Mask blur: 4, Dreamcord job: j-42, Source job: j-41, ' +
  'Mask source: "region: border", Version: dreamcord 0.1.0';

describe('formatInfotext', () => {
  it("writes the conventions document's example exactly", () => {
    assert.equal(formatInfotext(A1111_EXAMPLE), A1111_EXAMPLE_TEXT);
  });

  it('leaves out the negative prompt, default RNG and clip skip 1; quotes values with a colon', () => {
    assert.equal(formatInfotext(INPAINT), INPAINT_TEXT);
    assert.equal(formatInfotext({ ...INPAINT, negativePrompt: '', clipSkip: 1 }), INPAINT_TEXT);
    assert.equal(formatInfotext({ ...INPAINT, rng: 'GPU' }), INPAINT_TEXT.replace('RNG: CPU, ', ''));
  });

  it('writes values with commas, newlines or quotes as JSON strings', () => {
    const text = formatInfotext({ ...INPAINT, extra: { Note: 'a, b\n"c"' } });
    assert.ok(text.includes(', Note: "a, b\\n\\"c\\"", Version: dreamcord 0.1.0'), text);
  });

  it('accepts a number seed', () => {
    assert.match(formatInfotext({ ...INPAINT, seed: 42 }), /, Seed: 42,/);
  });

  it('rejects extra keys that cannot be read back or that shadow a field', () => {
    assert.throws(() => formatInfotext({ ...INPAINT, extra: { 'Bad:key': 'x' } }), RangeError);
    assert.throws(() => formatInfotext({ ...INPAINT, extra: { Seed: '1' } }), RangeError);
  });
});

describe('parseInfotext', () => {
  it('reads the example back to the same fields', () => {
    assert.deepEqual(parseInfotext(A1111_EXAMPLE_TEXT), A1111_EXAMPLE);
    assert.deepEqual(parseInfotext(INPAINT_TEXT), INPAINT);
  });

  it('round-trips multi-line and Unicode prompts and awkward extra values', () => {
    const params: InfotextParams = {
      ...A1111_EXAMPLE,
      prompt: '富士山の夕焼け, (masterpiece:1.2)\nBREAK 🌅 sunset',
      negativePrompt: 'lowres\nbad anatomy, "text"',
      seed: 18446744073709551615n,
      rng: 'CPU',
      extra: { 'Mask source': 'upload: mask.png', Quote: '"quoted"', Spaces: ' padded ', Empty: '' },
    };
    assert.deepEqual(parseInfotext(formatInfotext(params)), params);
  });

  it('reads an A1111 text with keys it does not name into extra', () => {
    const text =
      'cat\nSteps: 30, Sampler: Euler, CFG scale: 5.5, Seed: 12, Size: 640x448, Model: m, ' +
      'Variation seed: 99, Variation seed strength: 0.3, ENSD: 31337, Face restoration: CodeFormer, Version: v1.6.0';
    const parsed = parseInfotext(text);
    assert.equal(parsed.cfgScale, 5.5);
    assert.deepEqual([parsed.width, parsed.height], [640, 448]);
    assert.deepEqual(parsed.extra, { 'Face restoration': 'CodeFormer' });
    assert.deepEqual([parsed.variationSeed, parsed.variationStrength, parsed.ensd], [99n, 0.3, 31337]);
  });

  it('throws InfotextError without a parameters line or with a bad value', () => {
    assert.throws(() => parseInfotext('just a prompt'), InfotextError);
    assert.throws(() => parseInfotext(A1111_EXAMPLE_TEXT.replace('Seed: 3141592653', 'Seed: many')), /Seed/);
    assert.throws(() => parseInfotext(A1111_EXAMPLE_TEXT.replace(', Version: v1.10.1', '')), /Version/);
  });
});
