// The hires fix's second pass in A1111 mode (`sample_hr_pass`): the levels it walks against
// test/fixtures/a1111-schedules/hires.json (make_hires.py: `setup_img2img_steps` with the hires steps passed, and
// `sample_img2img`'s slices, transcribed in numpy over make_tables.py's schedules), its noise per picture on the
// tiny model, and its infotext both ways.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCommand } from '../../../src/cli/generate.js';
import { CompVisSchedule, ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { walkedSigmas } from '../../../src/pipeline/a1111/sample.js';
import { a1111SamplerFor } from '../../../src/pipeline/a1111/samplers.js';
import { walkedTimesteps } from '../../../src/pipeline/a1111/timestep-samplers.js';
import {
  countModelCalls,
  PARAMETERS_KEYWORD,
  parseSamplerName,
  parseScheduleType,
  readPngText,
  requestFromInfotext,
  resolveRequest,
  StableDiffusionPipeline,
  type GenerateRequest,
} from '../../../src/pipeline/index.js';
import { tempDir } from '../../support/temp-dir.js';
import { captureStream } from '../harness.js';

interface HiresCase {
  readonly sampler: string;
  readonly schedule_type: string;
  readonly hires_steps: number;
  readonly strength: number;
  readonly sigmas?: readonly number[];
  readonly timesteps?: readonly number[];
  readonly noised_at?: number;
}

const { cases } = JSON.parse(readFileSync('test/fixtures/a1111-schedules/hires.json', 'utf8')) as { cases: HiresCase[] };
const SD1 = { beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' } as const;
const schedule = new CompVisSchedule(ldmAlphasCumprod(SD1));
const SCHEDULER_CONFIG = { ...SD1 };

describe("A1111's hires second pass: the levels it walks", () => {
  for (const c of cases) {
    it(`${c.sampler}, ${c.hires_steps} hires steps at strength ${c.strength}`, () => {
      const id = parseSamplerName(c.sampler);
      const sampler = a1111SamplerFor(id);
      assert.ok(sampler);
      const pass = { kind: 'img2img', steps: c.hires_steps, strength: c.strength, fixSteps: true, scheduleType: parseScheduleType(c.schedule_type) } as const;
      if (sampler.family === 'k-diffusion') {
        const sigmas = walkedSigmas(sampler, pass, schedule);
        assert.equal(sigmas.length, c.sigmas?.length);
        c.sigmas?.forEach((expected, i) => assert.ok(Math.abs((sigmas[i] ?? NaN) - expected) <= 2e-6 * Math.max(1, expected), `sigma ${i}`));
      } else {
        assert.deepEqual(walkedTimesteps(pass), { timesteps: c.timesteps, noisedAt: c.noised_at });
      }
      // The progress unit: the first pass's calls, then the second pass's over these levels.
      const request = { kind: 'txt2img', sampler: id, steps: 8, strength: 1, compat: 'a1111', scheduleType: pass.scheduleType } as const;
      const first = countModelCalls(request, SCHEDULER_CONFIG);
      const both = countModelCalls({ ...request, hires: { steps: c.hires_steps, strength: c.strength } }, SCHEDULER_CONFIG);
      const walked = sampler.family === 'k-diffusion' ? sampler.modelCalls(walkedSigmas(sampler, pass, schedule)) : sampler.modelCalls(walkedTimesteps(pass).timesteps);
      assert.equal(both - first, walked);
    });
  }
});

describe("A1111's hires second pass on the tiny model", () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());

  const BASE: GenerateRequest = { prompt: 'a lighthouse at dusk', seed: 7, steps: 4, width: 64, height: 64, compat: 'a1111', sampler: 'euler_a' };

  for (const upscaler of ['latent', 'lanczos'] as const) {
    it(`${upscaler}: each picture's second-pass noise from its own seed (picture 2 is seed + 1 alone), exactly the hires steps walked`, async () => {
      const hires = { scale: 1.5, steps: 3, strength: 0.4, upscaler } as const;
      const reports: number[] = [];
      const batch = await pipeline.generate({ ...BASE, count: 2, hires }, { onProgress: (step) => reports.push(step) });
      // Euler a: 4 first-pass calls, then 3 (the hires steps of a ⌊3 / 0.4⌋ = 7-level schedule).
      assert.equal(reports.length, 7);
      assert.equal(countModelCalls(resolveRequest({ ...BASE, count: 2, hires }), pipeline.info.schedulerConfig), 7);
      assert.deepEqual([batch.images[0]?.image.width, batch.images[0]?.image.height], [96, 96]);
      if (upscaler === 'latent') {
        const alone = await pipeline.generate({ ...BASE, seed: 8, hires });
        assert.deepEqual(alone.images[0]?.image.data, batch.images[1]?.image.data);
      }
    });
  }

  it('takes variation seeds with the hires fix', async () => {
    const hires = { scale: 1.5, steps: 2 } as const;
    const plain = await pipeline.generate({ ...BASE, hires });
    const varied = await pipeline.generate({ ...BASE, hires, variationSeed: 40, variationStrength: 0.5 });
    assert.notDeepEqual(varied.images[0]?.image.data, plain.images[0]?.image.data);
    assert.equal(varied.images[0]?.variationSeed, 40n);
  });
});

describe('the hires fix in infotext', () => {
  it('honours a pasted block\'s Hires upscale, Hires steps, Hires upscaler and Denoising strength', () => {
    const block = 'a cat\nSteps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 5, Size: 512x768, Model: m, ' +
      'Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 6, Hires upscaler: Latent (nearest), Version: v1.10.1';
    const { request, ignored } = requestFromInfotext(block);
    assert.deepEqual(request.hires, { scale: 1.5, upscaler: 'latent-nearest', steps: 6, strength: 0.45 });
    assert.equal(request.strength, undefined, 'the strength is the second pass\'s');
    assert.deepEqual(ignored, []);
    // `Hires steps` left out (A1111's 0): as the first pass.
    assert.deepEqual(requestFromInfotext(block.replace('Hires steps: 6, ', '')).request.hires, { scale: 1.5, upscaler: 'latent-nearest', strength: 0.45 });
  });

  it('round-trips through the CLI: the PNG it writes is remade with the same hires fix', async () => {
    const dir = tempDir();
    const block = join(dir, 'block.txt');
    const line = 'Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Seed: 5, Size: 64x64, Model: m, ' +
      'Denoising strength: 0.5, Hires upscale: 1.5, Hires steps: 2, Hires upscaler: Latent, Version: v1.10.1';
    writeFileSync(block, `a cat\n${line}`);
    const out = join(dir, 'h.png');
    const stderr = captureStream();
    await generateCommand.run(['--infotext', block, '--model', 'test/fixtures/tiny-sd', '--ep', 'cpu', '--out', out], { stdout: captureStream(), stderr });
    assert.doesNotMatch(stderr.text, /not honoured/);
    const written = readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '';
    assert.match(written, /, Size: 64x64, .*Denoising strength: 0\.5, .*Hires upscale: 1\.5, Hires steps: 2, Hires upscaler: Latent, Version: /);
    assert.deepEqual(requestFromInfotext(written).request.hires, requestFromInfotext(`a cat\n${line}`).request.hires);
  });
});
