// A1111's inpainting against test/fixtures/a1111-schedules/inpaint.json: A1111 v1.10.1's `init` (masks), its
// "Masked content", the blend of CFGDenoiser / CFGDenoiserTimesteps and the final blend, and `apply_overlay`,
// transcribed line by line in numpy with the OpenCV and Pillow code they call (make_inpaint.py). Checked: every
// mask byte for six blur/mode settings, the init latents, the σ (or timestep) and the latents of every denoiser
// call and the blended result for three samplers × three masked contents, the overlaid picture byte for byte; then
// inpainting in A1111 mode on the tiny models.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { blendAfter, blendBefore, blendLatents, maskedContent, ONLY_MASKED_BLANK } from '../../../src/pipeline/a1111/inpaint.js';
import { inpaintInfotext } from '../../../src/pipeline/a1111/inpaint-infotext.js';
import { pillowResize } from '../../../src/pipeline/image/pillow-resample.js';
import { blurredMask, overlayMask, samplingMasks } from '../../../src/pipeline/a1111/inpaint-mask.js';
import { fillMaskedArea } from '../../../src/pipeline/a1111/inpaint-fill.js';
import { applyOverlay, overlayImage } from '../../../src/pipeline/a1111/inpaint-overlay.js';
import { a1111SamplerFor } from '../../../src/pipeline/a1111/samplers.js';
import type { Denoiser } from '../../../src/pipeline/a1111/k-steps.js';
import type { EpsModel } from '../../../src/pipeline/a1111/timestep-samplers.js';
import { binarizeMask, fromRgb8, maskLuminance, parseSamplerName, StableDiffusionPipeline, type GenerateRequest, type InpaintOptions, type Mask, type MaskedContent, type RgbImage } from '../../../src/pipeline/index.js';
import { SCHEDULER_IDS } from '../../../src/pipeline/schedulers/index.js';
import { maxAbsDifference } from '../harness.js';
import { standInDenoiser, standInEpsModel } from './sampler-checks.js';
import { samplePredictionCopy } from './sample-prediction.js';

interface MaskCase {
  readonly blur: number;
  readonly invert: boolean;
  readonly blurred: number[];
  readonly overlay: number[];
  readonly latent: number[];
  readonly conditioning: number[];
}

interface SampleCase {
  readonly content: MaskedContent;
  readonly sampler: string;
  readonly walked: number[];
  readonly start: number[];
  readonly calls: number[];
  readonly inputs: number[][];
  readonly draws_used: number;
  readonly result: number[];
}

const fixture = JSON.parse(readFileSync('test/fixtures/a1111-schedules/inpaint.json', 'utf8')) as {
  width: number;
  height: number;
  shape: number[];
  drawn: number[];
  masks: MaskCase[];
  draws: number[];
  first: number[];
  encoded: number[];
  init_latents: Record<MaskedContent, number[]>;
  samples: SampleCase[];
  overlay: { original: number[]; generated: number[]; result: number[] };
  rgb_mask: Omit<MaskCase, 'invert'> & { rgb: number[]; luminance: number[] };
};
const { width, height } = fixture;
const drawn: Mask = { width, height, channels: 1, data: Float32Array.from(fixture.drawn, (v) => v / 255) };
const latentWidth = width / 8;
const latentHeight = height / 8;
const size = fixture.shape.reduce((a, b) => a * b, 1);
const alphasCumprod = ldmAlphasCumprod({ beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' });
const defaultBlurred = blurredMask(drawn, { blur: 4, invert: false });
const defaultMasks = samplingMasks(defaultBlurred, width, height, latentWidth, latentHeight);

/** The largest |difference| relative to max(1, |expected|). */
function worstRelative(actual: ArrayLike<number>, expected: readonly number[]): number {
  return Math.max(...expected.map((e, i) => Math.abs((actual[i] ?? NaN) - e) / Math.max(1, Math.abs(e))));
}

/** The masks A1111 makes from `mask` with the case's settings ("Whole picture"), each against the transcription's bytes. */
function assertMasks(mask: Mask, c: Omit<MaskCase, 'invert'> & { readonly invert?: boolean }): void {
  const blurred = blurredMask(mask, { blur: c.blur, invert: c.invert ?? false });
  const masks = samplingMasks(blurred, width, height, latentWidth, latentHeight);
  assert.deepEqual(Array.from(blurred), c.blurred, 'cv2.GaussianBlur');
  assert.deepEqual(Array.from(overlayMask(blurred, false)), c.overlay, 'mask_for_overlay (grey levels: a grey alpha)');
  assert.deepEqual(Array.from(masks.latent), c.latent, 'latent mask (Pillow bicubic, rounded: mask_round)');
  // The inpainting UNet's mask at latent size: the top-left pixel of each 8 × 8 block.
  const shrunk = Array.from({ length: latentWidth * latentHeight }, (_, k) => masks.conditioning[Math.floor(k / latentWidth) * 8 * width + (k % latentWidth) * 8]);
  assert.deepEqual(shrunk, c.conditioning);
}

describe('A1111 inpainting against its numpy transcription', () => {
  for (const c of fixture.masks) {
    it(`masks at Mask blur ${c.blur}${c.invert ? ', Inpaint not masked' : ''}: blurred, overlay, latent and conditioning masks byte for byte`, () => {
      assertMasks(drawn, c);
    });
  }

  it('a grey mask uploaded as an opaque RGB picture: its luminance kept (convert("L"), no threshold), then the masks byte for byte', () => {
    const c = fixture.rgb_mask;
    const picture: RgbImage = { width, height, channels: 3, data: Float32Array.from(c.rgb, (v) => v / 255) };
    const mask = maskLuminance(picture, { width, height });
    assert.deepEqual(Array.from(mask.data, (v) => Math.round(v * 255)), c.luminance, "Pillow's convert('L')");
    assertMasks(mask, c);
  });

  for (const content of ['original', 'latent noise', 'latent nothing'] as const) {
    it(`masked content ${content}: the init latent`, () => {
      let drawnNoise = 0;
      const first = () => {
        drawnNoise += 1;
        return Float32Array.from(fixture.first);
      };
      const init = maskedContent(Float32Array.from(fixture.encoded), defaultMasks.latent, content, first);
      assert.deepEqual(Array.from(init), fixture.init_latents[content]);
      assert.equal(drawnNoise, content === 'latent noise' ? 1 : 0, 'draws the pictures\' noise only for latent noise');
    });
  }

  for (const c of fixture.samples) {
    it(`${c.sampler}, masked content ${c.content}: every call's ${c.sampler === 'DDIM' ? 'timestep' : 'σ'} and latents, the blended result`, async () => {
      const sampler = a1111SamplerFor(parseSamplerName(c.sampler));
      assert.ok(sampler);
      const inpainting = { initLatent: Float32Array.from(fixture.init_latents[c.content]), latentMask: defaultMasks.latent };
      const calls: number[] = [];
      const inputs: Float32Array[] = [];
      let used = 0;
      const noise = () => Float32Array.from(fixture.draws.slice(size * used, size * ++used));
      let result: Float32Array;
      if (sampler.family === 'k-diffusion') {
        const inner = standInDenoiser(calls);
        const recording: Denoiser = (x, sigma) => {
          inputs.push(x.slice());
          return inner(x, sigma);
        };
        const context = { sigmaMin: NaN, sigmaMax: NaN, brownian: () => assert.fail('no Brownian noise') };
        result = await sampler.sample(blendAfter(recording, inpainting), Float32Array.from(c.start), Float64Array.from(c.walked), noise, context);
      } else {
        const inner = standInEpsModel(calls, 7, alphasCumprod);
        const recording: EpsModel = (x, t) => {
          inputs.push(x.slice());
          return inner(x, t);
        };
        result = await sampler.sample(blendBefore(recording, inpainting), Float32Array.from(c.start), c.walked, noise, alphasCumprod, true);
      }
      result = blendLatents(result, inpainting);
      assert.equal(used, c.draws_used, 'draws of the image generators');
      assert.equal(calls.length, c.calls.length, 'denoiser calls');
      c.calls.forEach((expected, i) => assert.ok(Math.abs((calls[i] ?? NaN) - expected) <= 1e-6 * Math.max(1, expected), `call ${i}: ${calls[i]} vs ${expected}`));
      // The latents each call is given: k-diffusion's sampler's own x; DDIM's after the blend (the UNet's input).
      c.inputs.forEach((expected, i) => assert.ok(worstRelative(inputs[i] ?? [], expected) <= 1e-5, `latents of call ${i}: ${worstRelative(inputs[i] ?? [], expected)}`));
      assert.ok(worstRelative(result, c.result) <= 1e-5, `result: ${worstRelative(result, c.result)}`);
    });
  }

  it('apply_overlay: the original composited over the 8-bit picture through the doubled blurred mask, byte for byte', () => {
    const original = { width, height, data: Uint8Array.from(fixture.overlay.original) };
    const generated: RgbImage = { width, height, channels: 3, data: Float32Array.from(fixture.overlay.generated) };
    const result = applyOverlay(generated, overlayImage(original, overlayMask(defaultBlurred, false)));
    assert.deepEqual(Array.from(result.data), fixture.overlay.result);
  });
});

describe('A1111 inpainting on the tiny models', () => {
  const models = new Map<string, StableDiffusionPipeline>();
  const initImage: RgbImage = { width: 64, height: 64, channels: 3, data: Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => ((i * 37) % 256) / 255) };
  // A square in the middle to repaint.
  const mask: Mask = { width: 64, height: 64, channels: 1, data: Float32Array.from({ length: 64 * 64 }, (_, p) => (p % 64 >= 16 && p % 64 < 48 && p >= 16 * 64 && p < 48 * 64 ? 1 : 0)) };
  const base: GenerateRequest = { prompt: 'a red cat', seed: 11, steps: 8, compat: 'a1111', initImage, mask, strength: 0.75 };
  /** Pixels the blurred, doubled mask does not reach (more than the blur's radius, 10 pixels at 4, from the square). */
  const untouched = (p: number) => {
    const x = p % 64;
    const y = Math.floor(p / 64);
    return x < 6 || x >= 58 || y < 6 || y >= 58;
  };

  /** The tiny model `fixture` read as `sample` prediction, which A1111's sampling has no port for. */
  const samplePrediction = (fixture: string) => StableDiffusionPipeline.load(samplePredictionCopy(fixture), { provider: 'cpu' });

  before(async () => {
    for (const dir of ['tiny-sd', 'tiny-sd-inpaint']) models.set(dir, await StableDiffusionPipeline.load(`test/fixtures/${dir}`, { provider: 'cpu' }));
  });
  after(async () => {
    for (const model of models.values()) await model.dispose();
  });

  for (const dir of ['tiny-sd', 'tiny-sd-inpaint']) {
    it(`${dir}: every A1111 sampler inpaints; the picture is the original exactly beyond the blurred mask`, async () => {
      const pipeline = models.get(dir);
      assert.ok(pipeline);
      const samplers = SCHEDULER_IDS.filter((id) => a1111SamplerFor(id) !== undefined);
      assert.ok(samplers.length >= 20);
      for (const sampler of samplers) {
        const result = await pipeline.generate({ ...base, sampler, steps: sampler === 'unipc' ? 12 : 8 });
        assert.equal(result.pastedBack, true, sampler);
        const picture = result.images[0]?.rgb8.data ?? new Uint8Array();
        const original = Uint8Array.from(initImage.data, (v) => Math.round(v * 255));
        for (let p = 0; p < 64 * 64; p++) {
          if (!untouched(p)) continue;
          for (let c = 0; c < 3; c++) assert.equal(picture[p * 3 + c], original[p * 3 + c], `${sampler}: pixel ${p} channel ${c}`);
        }
        // Inside the square the picture is repainted.
        assert.ok(maxAbsDifference(Float32Array.from(picture.subarray(32 * 64 * 3, 33 * 64 * 3)), Float32Array.from(original.subarray(32 * 64 * 3, 33 * 64 * 3))) > 0, sampler);
      }
    });
  }

  it('a grey mask: A1111 mode keeps its levels (another picture than the mask binarized, the overlay through the grey); diffusers mode binarizes it (the same picture)', async () => {
    const pipeline = models.get('tiny-sd');
    assert.ok(pipeline);
    // The square at 60 %, a band beside it at 40 %: both sides of diffusers' threshold.
    const grey: Mask = { ...mask, data: mask.data.map((v, p) => (v ? 0.6 : p % 64 >= 48 && p % 64 < 56 ? 0.4 : 0)) };
    const binary = binarizeMask(grey);
    const a1111Grey = await pipeline.generate({ ...base, mask: grey, inpaint: { maskBlur: 0 } });
    const a1111Binary = await pipeline.generate({ ...base, mask: binary, inpaint: { maskBlur: 0 } });
    assert.deepEqual(Array.from(a1111Grey.request.mask?.data ?? []), Array.from(grey.data), 'the pipeline keeps the grey levels');
    const greyPicture = a1111Grey.images[0]?.rgb8.data ?? new Uint8Array();
    assert.ok(maxAbsDifference(Float32Array.from(greyPicture), Float32Array.from(a1111Binary.images[0]?.rgb8.data ?? [])) > 0);
    // Blur 0: mask_for_overlay is the grey doubled, 0.4 → 204 of 255: the band is mostly the generated picture, not
    // the original pasted back as with the binarized mask (where the band is kept).
    const original = Uint8Array.from(initImage.data, (v) => Math.round(v * 255));
    const band = 20 * 64 + 50;
    assert.notEqual(greyPicture[band * 3], original[band * 3]);
    assert.equal(a1111Binary.images[0]?.rgb8.data[band * 3], original[band * 3]);
    const diffusersGrey = await pipeline.generate({ ...base, mask: grey, compat: 'diffusers' });
    const diffusersBinary = await pipeline.generate({ ...base, mask: binary, compat: 'diffusers' });
    assert.deepEqual(Array.from(diffusersGrey.request.mask?.data ?? []), Array.from(binary.data), 'binarized at 0.5');
    assert.equal(maxAbsDifference(diffusersGrey.images[0]?.image.data ?? new Float32Array(), diffusersBinary.images[0]?.image.data ?? new Float32Array()), 0);
  });

  it("masked content fill: the picture as the original content gives with the filled picture as the init image (blur 0: the overlay pastes back the same pixels)", async () => {
    const pipeline = models.get('tiny-sd');
    assert.ok(pipeline);
    const filled = await pipeline.generate({ ...base, inpaint: { maskBlur: 0, maskedContent: 'fill' } });
    const rgb8 = { width: 64, height: 64, data: Uint8Array.from(initImage.data, (v) => Math.round(v * 255)) };
    const picture = fillMaskedArea(rgb8, Uint8Array.from(mask.data, (v) => v * 255));
    const original = await pipeline.generate({ ...base, initImage: fromRgb8(picture), inpaint: { maskBlur: 0 } });
    assert.deepEqual(Array.from(filled.images[0]?.rgb8.data ?? []), Array.from(original.images[0]?.rgb8.data ?? []));
    const plain = await pipeline.generate({ ...base, inpaint: { maskBlur: 0 } });
    assert.ok(maxAbsDifference(filled.images[0]?.image.data ?? new Float32Array(), plain.images[0]?.image.data ?? new Float32Array()) > 0, 'fill changes the picture');
  });

  it('Inpaint area: Only masked: the area around the mask drawn at the working size, pasted back into the picture at its own size; the rest exactly the upload', async () => {
    const pipeline = models.get('tiny-sd-inpaint');
    assert.ok(pipeline);
    // A 136 × 104 picture, its mask a 16-pixel square; the area (padding 4) is drawn at 64 × 64.
    const [w, h] = [136, 104];
    const picture: RgbImage = { width: w, height: h, channels: 3, data: Float32Array.from({ length: w * h * 3 }, (_, i) => ((i * 29) % 256) / 255) };
    const inSquare = (p: number) => p % w >= 80 && p % w < 96 && Math.floor(p / w) >= 40 && Math.floor(p / w) < 56;
    const small: Mask = { width: w, height: h, channels: 1, data: Float32Array.from({ length: w * h }, (_, p) => (inSquare(p) ? 1 : 0)) };
    const result = await pipeline.generate({ ...base, initImage: picture, mask: small, width: 64, height: 64, inpaint: { onlyMasked: true, maskedPadding: 4 } });
    const out = result.images[0]?.rgb8;
    assert.deepEqual([out?.width, out?.height], [w, h], "the picture's own size");
    const original = Uint8Array.from(picture.data, (v) => Math.round(v * 255));
    // The blurred mask (blur 4: 10 pixels) reaches 70–106 × 30–66; beyond it the upload comes back exactly.
    let kept = 0;
    let changed = 0;
    for (let p = 0; p < w * h; p++) {
      const [x, y] = [p % w, Math.floor(p / w)];
      const same = [0, 1, 2].every((c) => out?.data[p * 3 + c] === original[p * 3 + c]);
      if (x < 70 || x >= 106 || y < 30 || y >= 66) {
        assert.ok(same, `pixel (${x}, ${y})`);
        kept++;
      } else if (inSquare(p)) changed += same ? 0 : 1;
    }
    assert.ok(kept > 0 && changed > 16 * 16 * 0.9, `${changed} of the square's 256 pixels repainted`);
  });

  // processing.py, v1.10.1, `StableDiffusionProcessingImg2Img.init`: when `get_crop_region_v2` finds no box, A1111
  // sets `image_mask = None` ("switch to img2img mode"): the picture resized to the working size ("Just resize",
  // LANCZOS), no blend, no overlay; an inpainting UNet conditioned with a mask of ones.
  it('Inpaint area: Only masked with a mask that marks nothing: the whole picture reworked, as A1111 does — the inpainting model\'s picture is the Whole-picture run with a full mask, with the notice', async () => {
    const pipeline = models.get('tiny-sd-inpaint');
    assert.ok(pipeline);
    const [w, h] = [136, 104];
    const picture: RgbImage = { width: w, height: h, channels: 3, data: Float32Array.from({ length: w * h * 3 }, (_, i) => ((i * 29) % 256) / 255) };
    const blank: Mask = { width: w, height: h, channels: 1, data: new Float32Array(w * h) };
    const dropped = await pipeline.generate({ ...base, initImage: picture, mask: blank, width: 64, height: 64, inpaint: { onlyMasked: true, maskedContent: 'latent noise' } });
    assert.deepEqual([dropped.maskDropped, dropped.pastedBack], [true, false]);
    assert.deepEqual(dropped.warnings, [ONLY_MASKED_BLANK]);
    const out = dropped.images[0]?.image;
    assert.deepEqual([out?.width, out?.height], [64, 64], 'the working size, as A1111 resizes the picture to it');
    // Whole picture, a mask of ones, no blur: its blend keeps every latent, its overlay every generated pixel.
    const resized = fromRgb8(pillowResize({ width: w, height: h, bands: 3, data: Uint8Array.from(picture.data, (v) => Math.round(v * 255)) }, 64, 64, 'lanczos'));
    const full: Mask = { width: 64, height: 64, channels: 1, data: new Float32Array(64 * 64).fill(1) };
    const whole = await pipeline.generate({ ...base, initImage: resized, mask: full, width: 64, height: 64, inpaint: { maskBlur: 0 } });
    // A1111 saves both by truncating 255 · x to bytes (the overlay's arithmetic; the mask-less picture as A1111 saves it).
    assert.deepEqual(Array.from(out?.data ?? [], (v) => Math.trunc(Math.fround(255 * v))), Array.from(whole.images[0]?.rgb8.data ?? []));
    assert.deepEqual(inpaintInfotext(dropped.request.inpaint!, true, dropped.maskDropped), { maskBlur: 4, conditionalMaskWeight: 1 }, 'no Inpaint area, padding or Masked content');
  });

  it('Inpaint area: Only masked with a mask that marks nothing on a base model: the img2img picture of the same request', async () => {
    const pipeline = models.get('tiny-sd');
    assert.ok(pipeline);
    const blank: Mask = { ...mask, data: new Float32Array(64 * 64) };
    const dropped = await pipeline.generate({ ...base, mask: blank, inpaint: { onlyMasked: true, maskedContent: 'fill' } });
    const img2img = await pipeline.generate({ ...base, mask: undefined });
    assert.equal(img2img.request.kind, 'img2img');
    assert.deepEqual(Array.from(dropped.images[0]?.rgb8.data ?? []), Array.from(img2img.images[0]?.rgb8.data ?? []));
    assert.deepEqual(dropped.warnings, [ONLY_MASKED_BLANK]);
  });

  // A model whose prediction type A1111's sampling has no port for (`sample`) draws with diffusers' schedulers, whose
  // inpainting has no "Only masked": a mask that marks nothing repainted nothing, and the member got the picture back.
  it("Inpaint area: Only masked with a mask that marks nothing on diffusers' fallback: the whole picture reworked, with the notice", async () => {
    const pipeline = await samplePrediction('tiny-sd');
    try {
      const request: GenerateRequest = { ...base, sampler: 'euler' };
      const dropped = await pipeline.generate({ ...request, mask: { ...mask, data: new Float32Array(64 * 64) }, inpaint: { onlyMasked: true } });
      assert.deepEqual([dropped.maskDropped, dropped.pastedBack], [true, false], 'nothing to paste back');
      assert.deepEqual(dropped.warnings, [ONLY_MASKED_BLANK]);
      // Diffusers' inpainting of the whole picture: the same request with a mask of ones.
      const whole = await pipeline.generate({ ...request, mask: { ...mask, data: new Float32Array(64 * 64).fill(1) } });
      const picture = Float32Array.from(dropped.images[0]?.rgb8.data ?? []);
      assert.deepEqual(picture, Float32Array.from(whole.images[0]?.rgb8.data ?? []));
      const original = Float32Array.from(initImage.data, (v) => Math.round(v * 255));
      assert.ok(maxAbsDifference(picture, original) > 64, 'not the picture given');
    } finally {
      await pipeline.dispose();
    }
  });

  // There diffusers' inpainting has none of A1111's other inpainting settings: each one set is named in one notice,
  // and the picture is the one drawn without it. An inpainting model, the only kind that reads the mask weight.
  it("on diffusers' fallback, each A1111 inpainting setting it does not honour is named, the picture unchanged", async () => {
    const pipeline = await samplePrediction('tiny-sd-inpaint');
    try {
      const request: GenerateRequest = { ...base, sampler: 'euler' };
      const plain = await pipeline.generate({ ...request, inpaint: { maskBlur: 0 } });
      assert.deepEqual(plain.warnings, [], "no blur and A1111's defaults: nothing to tell");
      // A request that sets nothing gets A1111's default blur (4): nothing the member set is named.
      const defaults = await pipeline.generate(request);
      assert.deepEqual([defaults.request.inpaint?.maskBlur, defaults.warnings], [4, []]);
      assert.deepEqual(Array.from(defaults.images[0]?.rgb8.data ?? []), Array.from(plain.images[0]?.rgb8.data ?? []));
      const blur = "Mask blur: 6 (diffusers' inpainting drew with the mask unblurred)";
      const mode = 'Mask mode: Inpaint not masked (the masked area was repainted)';
      const content = "Masked content: latent noise (the area started as diffusers' inpainting starts it)";
      const area = 'Inpaint area: Only masked, Masked area padding: 16 (the whole picture was inpainted at the working size)';
      const weight = 'Conditional mask weight: 0.5 (the masked area was hidden from the model fully)';
      const cases: readonly (readonly [InpaintOptions, string])[] = [
        [{ maskBlur: 6 }, blur],
        [{ maskBlur: 0, invertMask: true }, mode],
        [{ maskBlur: 0, maskedContent: 'latent noise' }, content],
        [{ maskBlur: 0, onlyMasked: true, maskedPadding: 16 }, area],
        [{ maskBlur: 0, maskWeight: 0.5 }, weight],
        [{ maskBlur: 6, invertMask: true, maskedContent: 'latent noise', onlyMasked: true, maskedPadding: 16, maskWeight: 0.5 }, [blur, mode, content, area, weight].join('; ')],
      ];
      for (const [inpaint, named] of cases) {
        const result = await pipeline.generate({ ...request, inpaint });
        const notice = `This model's prediction type (sample) has no port of AUTOMATIC1111's sampling, so diffusers' inpainting drew the picture, which does not honour: ${named}.`;
        assert.deepEqual(result.warnings, [notice], JSON.stringify(inpaint));
        assert.deepEqual(Array.from(result.images[0]?.rgb8.data ?? []), Array.from(plain.images[0]?.rgb8.data ?? []), JSON.stringify(inpaint));
      }
    } finally {
      await pipeline.dispose();
    }
  });

  it('refuses inpaint settings outside A1111 inpainting, an unknown masked content and a blur out of range', async () => {
    const pipeline = models.get('tiny-sd');
    assert.ok(pipeline);
    await assert.rejects(pipeline.generate({ ...base, compat: 'diffusers', inpaint: { maskBlur: 4 } }), /`inpaint` settings are A1111's/);
    await assert.rejects(pipeline.generate({ prompt: 'x', compat: 'a1111', inpaint: { maskBlur: 4 } }), /`inpaint` settings are A1111's/);
    await assert.rejects(
      pipeline.generate({ ...base, inpaint: { maskedContent: 'magic' as MaskedContent } }),
      /inpaint.maskedContent/,
    );
    await assert.rejects(pipeline.generate({ ...base, inpaint: { maskBlur: 65 } }), /Expected `inpaint.maskBlur` to be an integer 0–64/);
  });
});
