// A1111's img2img "Noise multiplier" (`initial_noise_multiplier`) and "Extra noise" (`img2img_extra_noise`): where
// sampling starts, against test/fixtures/a1111-schedules/img2img-noise.json (make_img2img_noise.py: A1111's lines in
// numpy float32 over the i2i_euler_a oracle case's init latent and first noise draw); on the tiny model (1 and 0 are
// the oracle's picture, other values change it); the request's checks; and the infotext both ways.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCommand } from '../../../src/cli/generate.js';
import { CompVisSchedule, ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { kSamplerFor } from '../../../src/pipeline/a1111/k-samplers.js';
import { noisedInit, type NoiseScales } from '../../../src/pipeline/a1111/noised-init.js';
import { walkedSigmas } from '../../../src/pipeline/a1111/sample.js';
import { walkedTimesteps } from '../../../src/pipeline/a1111/timestep-samplers.js';
import {
  decodeImage,
  isPipelineError,
  PARAMETERS_KEYWORD,
  readPngText,
  requestFromInfotext,
  resolveRequest,
  StableDiffusionPipeline,
  type GenerateRequest,
} from '../../../src/pipeline/index.js';
import { tempDir } from '../../support/temp-dir.js';
import { captureStream, maxAbsDifference } from '../harness.js';
import { A1111_CASES, initImagePath, oracleArray } from './oracle.js';

interface NoiseCase {
  readonly noise_multiplier: number;
  readonly extra_noise: number;
  readonly k_diffusion: readonly number[];
  readonly timesteps: readonly number[];
}

const FIXTURE = JSON.parse(readFileSync('test/fixtures/a1111-schedules/img2img-noise.json', 'utf8')) as {
  readonly sigma0: number;
  readonly timestep: number;
  readonly sqrt_alpha_cumprod: number;
  readonly sqrt_one_minus_alpha_cumprod: number;
  readonly cases: readonly NoiseCase[];
};
const ORACLE = A1111_CASES.find((c) => c.id === 'i2i_euler_a');
if (!ORACLE) throw new Error('the oracle has no i2i_euler_a case');
const INIT = oracleArray('bin/i2i_euler_a_init_latent.f32');
const FIRST_DRAW = oracleArray(ORACLE.noise_file);
const SCHEDULE = new CompVisSchedule(ldmAlphasCumprod({ beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' }));
const PASS = { kind: 'img2img', steps: ORACLE.steps, strength: ORACLE.strength ?? NaN, scheduleType: 'Automatic' } as const;

/** Each family's scales as the pipeline computes them for the oracle case's pass. */
function scalesOf(family: 'k-diffusion' | 'timesteps'): NoiseScales {
  if (family === 'k-diffusion') {
    const sampler = kSamplerFor('euler_a');
    assert.ok(sampler);
    return { image: 1, noise: Math.fround(walkedSigmas(sampler, PASS, SCHEDULE)[0] ?? NaN), extra: 1 };
  }
  const at = SCHEDULE.alphasCumprod[walkedTimesteps(PASS).noisedAt ?? NaN] ?? NaN;
  const sqrtAt = Math.fround(Math.sqrt(at));
  return { image: sqrtAt, noise: Math.fround(Math.sqrt(Math.fround(1 - at))), extra: sqrtAt };
}

describe("A1111's img2img starting point with its noise multiplier and extra noise", () => {
  it("walks from the transcription's σ₀ and timestep", () => {
    assert.equal(scalesOf('k-diffusion').noise, FIXTURE.sigma0);
    assert.equal(walkedTimesteps(PASS).noisedAt, FIXTURE.timestep);
    assert.deepEqual(scalesOf('timesteps'), { image: FIXTURE.sqrt_alpha_cumprod, noise: FIXTURE.sqrt_one_minus_alpha_cumprod, extra: FIXTURE.sqrt_alpha_cumprod });
  });

  for (const c of FIXTURE.cases) {
    it(`noise multiplier ${c.noise_multiplier}, extra noise ${c.extra_noise}: both families, bit for bit`, () => {
      const settings = { noiseMultiplier: c.noise_multiplier, extraNoise: c.extra_noise };
      assert.deepEqual(Array.from(noisedInit(INIT, FIRST_DRAW, scalesOf('k-diffusion'), settings)), c.k_diffusion);
      assert.deepEqual(Array.from(noisedInit(INIT, FIRST_DRAW, scalesOf('timesteps'), settings)), c.timesteps);
      // The multiplier scales the first draw exactly: the same as the draw multiplied beforehand, at 1.
      const scaled = FIRST_DRAW.map((v) => Math.fround(v * Math.fround(c.noise_multiplier)));
      const unscaled = { noiseMultiplier: 1, extraNoise: c.extra_noise };
      assert.deepEqual(noisedInit(INIT, FIRST_DRAW, scalesOf('k-diffusion'), settings), noisedInit(INIT, scaled, scalesOf('k-diffusion'), unscaled));
    });
  }
});

describe('the request: A1111 img2img noise settings only where A1111 uses them', () => {
  const image = { width: 64, height: 64, channels: 3 as const, data: new Float32Array(64 * 64 * 3) };
  const img2img: GenerateRequest = { prompt: 'x', initImage: image, compat: 'a1111', sampler: 'Euler a' };
  const refused = (request: GenerateRequest, field: string, message: RegExp) =>
    assert.throws(() => resolveRequest(request), (error: unknown) => isPipelineError(error, 'INVALID_REQUEST') && error.details.field === field && message.test(error.message));

  it('takes them for img2img (and the extra noise for a hires fix) in A1111 mode, 1 and 0 by default', () => {
    assert.deepEqual([resolveRequest(img2img).noiseMultiplier, resolveRequest(img2img).extraNoise], [1, 0]);
    const resolved = resolveRequest({ ...img2img, noiseMultiplier: 0.9, extraNoise: 0.3 });
    assert.deepEqual([resolved.noiseMultiplier, resolved.extraNoise], [0.9, 0.3]);
    const hires = resolveRequest({ prompt: 'x', compat: 'a1111', sampler: 'Euler a', hires: { scale: 1.5 }, extraNoise: 0.2 });
    assert.equal(hires.extraNoise, 0.2);
  });

  it('refuses them where they would do nothing, and values outside A1111\'s sliders', () => {
    refused({ prompt: 'x', compat: 'a1111', sampler: 'Euler a', noiseMultiplier: 0.9 }, 'noiseMultiplier', /A1111's img2img setting: it needs an init image/);
    refused({ prompt: 'x', compat: 'a1111', sampler: 'Euler a', hires: { scale: 1.5 }, noiseMultiplier: 0.9 }, 'noiseMultiplier', /needs an init image/);
    refused({ ...img2img, compat: 'diffusers', noiseMultiplier: 0.9 }, 'noiseMultiplier', /`compat` a1111/);
    refused({ prompt: 'x', compat: 'a1111', sampler: 'Euler a', extraNoise: 0.1 }, 'extraNoise', /needs an init image or `hires`/);
    refused({ ...img2img, noiseMultiplier: 1.6 }, 'noiseMultiplier', /Expected `noiseMultiplier` to be a number 0–1.5, got 1.6/);
    refused({ ...img2img, extraNoise: -0.1 }, 'extraNoise', /Expected `extraNoise` to be a number 0–1, got -0.1/);
  });
});

describe('the noise settings on the tiny model', () => {
  let pipeline: StableDiffusionPipeline;
  let request: GenerateRequest;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
    const init = initImagePath(ORACLE);
    assert.ok(init);
    const { image } = await decodeImage(readFileSync(init), { maxPixels: 64 * 64 });
    request = { ...requestFromInfotext(ORACLE.infotexts[0] ?? '').request, initImage: image, emphasis: ORACLE.emphasis };
  });
  after(() => pipeline.dispose());

  const picture = async (extra: Partial<GenerateRequest>): Promise<Float32Array> =>
    (await pipeline.generate({ ...request, ...extra })).images[0]?.image.data ?? new Float32Array();

  it("at 1 and 0 draws the oracle's picture (A1111 skips them there); other values change it", async (t) => {
    const plain = await picture({});
    assert.deepEqual(await picture({ noiseMultiplier: 1, extraNoise: 0 }), plain);
    const worst = maxAbsDifference(plain, oracleArray(ORACLE.output_file));
    assert.ok(worst <= 3e-6, `max |Δ| ${worst}`);
    t.diagnostic(`i2i_euler_a at 1 and 0: max |Δ| = ${worst.toExponential(2)} from A1111's picture`);
    for (const change of [{ noiseMultiplier: 0.9 }, { extraNoise: 0.3 }, { sampler: 'DDIM', noiseMultiplier: 0.9, extraNoise: 0.3 }]) {
      const base = change.sampler ? await picture({ sampler: change.sampler }) : plain;
      assert.ok(maxAbsDifference(await picture(change), base) > 1e-3, JSON.stringify(change));
    }
  });

  it('noises an inpainting the same way (A1111 inpaints through its img2img)', async () => {
    const mask = { width: 64, height: 64, channels: 1 as const, data: new Float32Array(64 * 64).fill(1, 0, 64 * 32) };
    const plain = await picture({ mask });
    for (const change of [{ noiseMultiplier: 0.8 }, { extraNoise: 0.3 }]) {
      assert.ok(maxAbsDifference(await picture({ mask, ...change }), plain) > 1e-3, JSON.stringify(change));
    }
  });

  it("noises a hires fix's second pass with the extra noise", async () => {
    const hiresRequest: GenerateRequest = { prompt: 'a lighthouse', seed: 7, steps: 4, width: 64, height: 64, compat: 'a1111', sampler: 'euler', hires: { scale: 1.5, steps: 2 } };
    const plain = (await pipeline.generate(hiresRequest)).images[0]?.image.data ?? new Float32Array();
    const extra = (await pipeline.generate({ ...hiresRequest, extraNoise: 0.3 })).images[0]?.image.data ?? new Float32Array();
    assert.ok(maxAbsDifference(extra, plain) > 1e-3);
  });
});

describe('the noise settings in infotext', () => {
  const line = (fields: string) =>
    `a cat\nSteps: 8, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 5, Size: 64x64, Model: m, Denoising strength: 0.6, ${fields}Version: v1.10.1`;

  it('reads a pasted Noise multiplier and Extra noise, and names values A1111 would not take', () => {
    const { request, ignored } = requestFromInfotext(line('Noise multiplier: 0.9, Extra noise: 0.3, '));
    assert.deepEqual([request.noiseMultiplier, request.extraNoise, ignored], [0.9, 0.3, []]);
    const bad = requestFromInfotext(line('Noise multiplier: 2, Extra noise: lots, '));
    assert.deepEqual([bad.request.noiseMultiplier, bad.request.extraNoise], [undefined, undefined]);
    assert.deepEqual(bad.ignored, ["Noise multiplier: 2 (A1111's setting takes a number 0–1.5)", "Extra noise: lots (A1111's setting takes a number 0–1)"]);
  });

  it('round-trips through the CLI, written last as A1111 writes them; named without an init image', async () => {
    const dir = tempDir();
    const block = join(dir, 'block.txt');
    writeFileSync(block, line('Noise multiplier: 0.9, Extra noise: 0.3, '));
    const out = join(dir, 'n.png');
    const init = initImagePath(ORACLE) ?? '';
    const stderr = captureStream();
    const args = ['--infotext', block, '--model', 'test/fixtures/tiny-sd', '--ep', 'cpu', '--out', out];
    await generateCommand.run([...args, '--init-image', init], { stdout: captureStream(), stderr });
    assert.doesNotMatch(stderr.text, /not honoured/);
    const written = readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '';
    assert.match(written, /, Denoising strength: 0\.6, Noise multiplier: 0\.9, Extra noise: 0\.3, Version: dreamcord /);
    const back = requestFromInfotext(written).request;
    assert.deepEqual([back.noiseMultiplier, back.extraNoise], [0.9, 0.3]);
    // Without an init image the block is drawn as txt2img: both are named, not used.
    const txt2img = captureStream();
    await generateCommand.run(args, { stdout: captureStream(), stderr: txt2img });
    assert.match(txt2img.text, /warning: not honoured: Noise multiplier: 0\.9 \(img2img's: no init image\)/);
    assert.match(txt2img.text, /warning: not honoured: Extra noise: 0\.3 \(img2img's and the hires fix's: neither here\)/);
    assert.doesNotMatch(readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '', /Noise multiplier|Extra noise/);
  });
});
