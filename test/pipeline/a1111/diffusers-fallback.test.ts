// A1111 mode on a model whose prediction type A1111's sampling has no port for (`sample`): diffusers' pipeline
// draws, which has no Noise multiplier, Extra noise, variation seeds or schedule types, and whose hires pass runs the
// first pass's sampler and prompts. Each one set is named in the member's notice (ENSD never: no sampler it acts on
// runs there), the picture is the one drawn without it, and the request returned (what the infotext is written from)
// holds what ran, so neither the CLI nor the bot writes them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCommand } from '../../../src/cli/generate.js';
import { PARAMETERS_KEYWORD, readPngText, StableDiffusionPipeline, type GenerateRequest, type RgbImage } from '../../../src/pipeline/index.js';
import { tempDir } from '../../support/temp-dir.js';
import { captureStream } from '../harness.js';
import { A1111_CASES, initImagePath } from './oracle.js';
import { samplePredictionCopy } from './sample-prediction.js';

const notice = (pipeline: string, named: string) =>
  `This model's prediction type (sample) has no port of AUTOMATIC1111's sampling, so diffusers' ${pipeline} drew the picture, which does not honour: ${named}.`;
const MULTIPLIER = 'Noise multiplier: 0.8 (the first noise draw was used as drawn)';
const EXTRA = 'Extra noise: 0.3 (the noised latents got no more noise)';
const VARIATION = 'Variation seed: 5, Variation seed strength: 0.4 (the pictures were drawn from their seeds alone)';
const HIRES_SCHEDULE = "Hires schedule type: Exponential (the hires pass ran the first pass's scheduler)";

describe("A1111's noise settings and hires schedule type on diffusers' fallback", () => {
  let dir = '';
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    dir = samplePredictionCopy('tiny-sd');
    pipeline = await StableDiffusionPipeline.load(dir, { provider: 'cpu' });
  });
  after(async () => {
    await pipeline.dispose();
  });
  const pixels = (result: { images: readonly { rgb8: { data: Uint8Array } }[] }) => Array.from(result.images[0]?.rgb8.data ?? []);

  const initImage: RgbImage = { width: 64, height: 64, channels: 3, data: Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => ((i * 37) % 256) / 255) };
  const img2img: GenerateRequest = { prompt: 'a red cat', seed: 11, steps: 6, compat: 'a1111', sampler: 'euler', initImage, strength: 0.75 };

  it('img2img: each one set is named, the picture unchanged, the request returned at what ran', async () => {
    const plain = await pipeline.generate(img2img);
    assert.deepEqual(plain.warnings, []);
    const cases: readonly (readonly [GenerateRequest, string])[] = [
      [{ ...img2img, noiseMultiplier: 0.8 }, MULTIPLIER],
      [{ ...img2img, extraNoise: 0.3 }, EXTRA],
      [{ ...img2img, noiseMultiplier: 0.8, extraNoise: 0.3 }, `${MULTIPLIER}; ${EXTRA}`],
    ];
    for (const [request, named] of cases) {
      const result = await pipeline.generate(request);
      assert.deepEqual(result.warnings, [notice('img2img', named)]);
      assert.deepEqual(pixels(result), pixels(plain), named);
      assert.deepEqual([result.request.noiseMultiplier, result.request.extraNoise], [1, 0]);
    }
  });

  it('img2img: a variation seed is named, the picture unchanged, the request returned without it', async () => {
    const plain = await pipeline.generate(img2img);
    const result = await pipeline.generate({ ...img2img, variationSeed: 5, variationStrength: 0.4 });
    assert.deepEqual(result.warnings, [notice('img2img', VARIATION)]);
    assert.deepEqual(pixels(result), pixels(plain));
    assert.deepEqual([result.request.variationStrength, result.request.variationSeed, result.images[0]?.variationSeed], [0, undefined, undefined]);
  });

  it('ENSD is not named (no sampler it acts on runs this prediction type) and the request returned holds 0', async () => {
    const plain = await pipeline.generate(img2img);
    const result = await pipeline.generate({ ...img2img, ensd: 31337 });
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(pixels(result), pixels(plain));
    assert.equal(result.request.ensd, 0);
  });

  it('txt2img with a hires fix: its extra noise and own schedule type named, the picture unchanged', async () => {
    const hires: GenerateRequest = { prompt: 'a lighthouse', seed: 7, steps: 4, width: 64, height: 64, compat: 'a1111', sampler: 'euler', hires: { scale: 1.5, steps: 2 } };
    const plain = await pipeline.generate(hires);
    assert.deepEqual(plain.warnings, []);
    const result = await pipeline.generate({ ...hires, extraNoise: 0.3, hires: { ...hires.hires, scale: 1.5, scheduleType: 'Exponential' } });
    assert.deepEqual(result.warnings, [notice('txt2img', `${EXTRA}; ${HIRES_SCHEDULE}`)]);
    assert.deepEqual(pixels(result), pixels(plain));
    assert.deepEqual([result.request.extraNoise, result.request.hires?.scheduleType], [0, plain.request.hires?.scheduleType]);
  });

  it("img2img: a schedule type the sampler's name does not carry is named, the request returned at Automatic", async () => {
    const plain = await pipeline.generate(img2img);
    const result = await pipeline.generate({ ...img2img, scheduleType: 'Karras' });
    assert.deepEqual(result.warnings, [notice('img2img', 'Schedule type: Karras (the sampler ran its own schedule)')]);
    assert.deepEqual(pixels(result), pixels(plain));
    assert.equal(result.request.scheduleType, 'Automatic');
  });

  it("txt2img with a hires fix: its own sampler and prompts are named, the request returned with the first pass's", async () => {
    const hires: GenerateRequest = { prompt: 'a lighthouse', negativePrompt: 'blur', seed: 7, steps: 4, width: 64, height: 64, compat: 'a1111', sampler: 'euler', hires: { scale: 1.5, steps: 2 } };
    const plain = await pipeline.generate(hires);
    const result = await pipeline.generate({ ...hires, hires: { scale: 1.5, steps: 2, sampler: 'dpmpp_2m', prompt: 'a tower', negativePrompt: 'fog' } });
    const named = [
      "Hires sampler: DPM++ 2M (the hires pass ran the first pass's sampler)",
      "Hires prompt: a tower (the hires pass ran the first pass's prompt)",
      "Hires negative prompt: fog (the hires pass ran the first pass's negative prompt)",
    ];
    assert.deepEqual(result.warnings, [notice('txt2img', named.join('; '))]);
    assert.deepEqual(pixels(result), pixels(plain));
    const ran = result.request.hires;
    assert.deepEqual([ran?.sampler, ran?.prompt, ran?.negativePrompt], ['euler', 'a lighthouse', 'blur']);
  });

  it('inpainting: one notice names them with the inpainting settings', async () => {
    const mask = { width: 64, height: 64, channels: 1 as const, data: new Float32Array(64 * 64).fill(1, 0, 64 * 32) };
    const result = await pipeline.generate({ ...img2img, mask, noiseMultiplier: 0.8, inpaint: { maskBlur: 6 } });
    assert.deepEqual(result.warnings, [notice('inpainting', `${MULTIPLIER}; Mask blur: 6 (diffusers' inpainting drew with the mask unblurred)`)]);
  });

  it('the CLI names them and writes neither in the infotext', async () => {
    const out = join(tempDir(), 'n.png');
    const oracleCase = A1111_CASES.find((c) => c.id === 'i2i_euler_a');
    assert.ok(oracleCase);
    const init = initImagePath(oracleCase) ?? '';
    const stderr = captureStream();
    const args = ['--prompt', 'a red cat', '--model', dir, '--ep', 'cpu', '--compat', 'a1111', '--sampler', 'euler', '--steps', '4', '--init-image', init];
    const set = ['--noise-multiplier', '0.8', '--extra-noise', '0.3', '--variation-seed', '5', '--variation-strength', '0.4', '--schedule-type', 'Karras'];
    await generateCommand.run([...args, ...set, '--out', out], { stdout: captureStream(), stderr });
    const named = `${MULTIPLIER}; ${EXTRA}; ${VARIATION}; Schedule type: Karras (the sampler ran its own schedule)`;
    assert.ok(stderr.text.includes(`warning: ${notice('img2img', named)}`), stderr.text);
    assert.doesNotMatch(readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '', /Noise multiplier|Extra noise|Variation seed|Karras/);
  });
});
