// `/imagine parameters:` and `/inpaint parameters:`: a pasted AUTOMATIC1111 block becomes a remake in A1111 mode,
// the member's options win, and what is not honoured is said.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asLines, pastedMaskSettings, pastedParameters } from '../../src/jobs/pasted-parameters.js';

const BLOCK =
  'a red fox in the snow\nNegative prompt: blurry, low quality\n' +
  'Steps: 8, Sampler: DPM++ 2M, Schedule type: Uniform, CFG scale: 7, Seed: 1001, Size: 64x64, Model hash: 71e1aac5e1, Model: tiny-sd, RNG: CPU, Hires upscale: 2, Version: v1.10.1';

describe('pasted A1111 parameters', () => {
  it('gives the options of the block, the A1111-mode fields, and names what is not honoured', () => {
    const pasted = pastedParameters(BLOCK, {});
    assert.ok(pasted);
    assert.deepEqual(pasted.options, {
      prompt: 'a red fox in the snow',
      negative: 'blurry, low quality',
      seed: '1001',
      steps: 8,
      cfg: 7,
      sampler: 'dpmpp_2m',
      width: 64,
      height: 64,
      clipSkip: undefined,
    });
    assert.deepEqual(pasted.fields, { compat: 'a1111', rng: 'cpu', scheduleType: 'Uniform' });
    assert.deepEqual(pasted.hires, { scale: 2, upscaler: 'latent' }, 'the hires fix, its steps and strength as the server has them');
    assert.deepEqual(pasted.notices, []);
  });

  it('names a hires upscaler dreamcord lacks, and runs Latent', () => {
    const pasted = pastedParameters(BLOCK.replace('Hires upscale: 2', 'Hires upscale: 1.5, Hires steps: 5, Hires upscaler: R-ESRGAN 4x+, Denoising strength: 0.3'), {});
    assert.deepEqual(pasted?.hires, { scale: 1.5, upscaler: 'latent', steps: 5, strength: 0.3 });
    assert.deepEqual(pasted?.notices, ['Not honoured from the pasted parameters: Hires upscaler: R-ESRGAN 4x+ (not in dreamcord; Latent used).']);
  });

  it('keeps the variation seed and strength of the block (picture 1\'s; A1111 gives picture i variationSeed + i)', () => {
    const pasted = pastedParameters(BLOCK.replace(', RNG: CPU', ', Variation seed: 4242, Variation seed strength: 0.35, RNG: CPU'), {});
    assert.deepEqual(pasted?.fields, { compat: 'a1111', rng: 'cpu', scheduleType: 'Uniform', variationSeed: '4242', variationStrength: 0.35 });
    assert.deepEqual(pasted?.notices, []);
  });

  it("lets the member's own options win", () => {
    const pasted = pastedParameters(BLOCK, { seed: '7', steps: null, cfg: undefined });
    assert.deepEqual([pasted?.options.seed, pasted?.options.steps, pasted?.options.cfg], ['7', 8, 7]);
  });

  it('to inpaint: the Denoising strength and inpainting settings count, the hires fix and another Size are named', () => {
    const inpainting = BLOCK.replace(', Hires upscale: 2', ', Denoising strength: 0.6, Mask blur: 7, Mask mode: Inpaint not masked, Masked content: latent noise');
    const pasted = pastedParameters(inpainting, { width: 64, height: 64 }, 'inpaint');
    assert.equal(pasted?.options.strength, 0.6);
    assert.deepEqual(pasted?.fields, { compat: 'a1111', rng: 'cpu', scheduleType: 'Uniform', inpaint: { maskedContent: 'latent noise', invertMask: true } });
    assert.deepEqual(pasted?.notices, []);
    assert.equal(pastedMaskSettings(inpainting)?.maskBlur, 7, 'the blur goes with the mask');
    assert.equal(pastedParameters(inpainting, { width: 64, height: 64, strength: 0.3 }, 'inpaint')?.options.strength, 0.3, "the member's strength wins");
    const other = pastedParameters(BLOCK, { width: 128, height: 64 }, 'inpaint');
    assert.deepEqual(other?.notices, ["Not honoured from the pasted parameters: Hires upscale: 2 (/inpaint does not upscale); Size: 64x64 (/inpaint works at the picture's size)."]);
    assert.equal(other?.fields.inpaint, undefined);
    assert.equal(pastedMaskSettings(BLOCK), undefined);
    assert.equal(pastedMaskSettings('Steps: x'), undefined, 'a block that does not parse is refused when the request is built');
  });

  it("takes A1111's Noise multiplier and Extra noise where they act, and names them where they would not", () => {
    const noised = BLOCK.replace(', Hires upscale: 2', ', Denoising strength: 0.6, Noise multiplier: 0.9, Extra noise: 0.2');
    const inpainting = pastedParameters(noised, { width: 64, height: 64 }, 'inpaint');
    assert.deepEqual(inpainting?.fields, { compat: 'a1111', rng: 'cpu', scheduleType: 'Uniform', noiseMultiplier: 0.9, extraNoise: 0.2 });
    assert.deepEqual(inpainting?.notices, []);
    // /imagine draws without an init image: both named; beside a hires fix the extra noise is its second pass's.
    const imagined = pastedParameters(noised, {});
    assert.deepEqual(imagined?.fields, { compat: 'a1111', rng: 'cpu', scheduleType: 'Uniform' });
    assert.deepEqual(imagined?.notices, [
      "Not honoured from the pasted parameters: Noise multiplier: 0.9 (img2img's: no init image); Extra noise: 0.2 (img2img's and the hires fix's: neither here); Denoising strength: 0.6.",
    ]);
    const upscaled = pastedParameters(BLOCK.replace(', Version', ', Extra noise: 0.2, Hires schedule type: Karras, Version'), {});
    assert.deepEqual(upscaled?.fields, { compat: 'a1111', rng: 'cpu', scheduleType: 'Uniform', extraNoise: 0.2 });
    assert.deepEqual(upscaled?.hires, { scale: 2, upscaler: 'latent', scheduleType: 'Karras' });
    assert.deepEqual(upscaled?.notices, []);
  });

  it("reads a block whose line breaks Discord's one-line box turned into spaces", () => {
    assert.equal(asLines(BLOCK.replaceAll('\n', ' ')), BLOCK);
    assert.equal(asLines('a cat Steps: 3 dogs Steps: 8, Sampler: Euler'), 'a cat Steps: 3 dogs\nSteps: 8, Sampler: Euler');
    assert.deepEqual(pastedParameters(BLOCK.replaceAll('\n', ' '), {})?.options.negative, 'blurry, low quality');
  });

  it('refuses a block that does not parse in one sentence naming the line, and non-text', () => {
    assert.throws(() => pastedParameters('a cat Steps: 8, Sampler: Euler, CFG scale: high, Seed: 1, Size: 64x64, Model: m', {}), {
      code: 'INVALID_OPTION',
      message: /^The pasted parameters do not read as AUTOMATIC1111's: Line 2 \(.*\): CFG scale must be a number, got "high"\.$/,
    });
    assert.throws(() => pastedParameters(42, {}), { code: 'INVALID_OPTION', message: '`parameters` must be text.' });
    assert.equal(pastedParameters(undefined, {}), undefined);
  });
});
