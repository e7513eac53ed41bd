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
  hiresInfotext,
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
import { captureStream, maxAbsDifference } from '../harness.js';

interface HiresCase {
  readonly sampler: string;
  readonly schedule_type: string;
  readonly hires_steps: number;
  readonly strength: number;
  readonly sigmas?: readonly number[];
  readonly timesteps?: readonly number[];
  readonly noised_at?: number;
}

/** A hires pass with A1111's "Hires sampler" and "Hires schedule type" (null: "Use same …"). */
interface ScheduleCase extends HiresCase {
  readonly hires_sampler: string | null;
  readonly hires_schedule_type: string | null;
  /** The schedule type the hires pass samples on (`hr_scheduler` after `init`). */
  readonly pass_schedule_type: string;
  /** The infotext's `Hires schedule type`, or null when A1111 writes none. */
  readonly written: string | null;
}

const { cases, schedule_cases: scheduleCases } = JSON.parse(readFileSync('test/fixtures/a1111-schedules/hires.json', 'utf8')) as {
  cases: HiresCase[];
  schedule_cases: ScheduleCase[];
};
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

describe("A1111's Hires schedule type: the schedule the second pass walks, and when the infotext names it", () => {
  for (const c of scheduleCases) {
    const hiresSampler = c.hires_sampler ?? 'Use same sampler';
    it(`${c.sampler} (${c.schedule_type}), hires ${hiresSampler} (${c.hires_schedule_type ?? 'Use same scheduler'})`, () => {
      const hires = {
        scale: 1.5,
        steps: c.hires_steps,
        strength: c.strength,
        ...(c.hires_sampler === null ? {} : { sampler: c.hires_sampler }),
        ...(c.hires_schedule_type === null ? {} : { scheduleType: c.hires_schedule_type }),
      };
      const resolved = resolveRequest({ prompt: 'x', compat: 'a1111', sampler: c.sampler, scheduleType: c.schedule_type, steps: 8, hires });
      assert.ok(resolved.hires);
      assert.equal(resolved.hires.scheduleType, c.pass_schedule_type);
      const sampler = a1111SamplerFor(resolved.hires.sampler);
      assert.ok(sampler);
      const pass = { kind: 'img2img', steps: c.hires_steps, strength: c.strength, fixSteps: true, scheduleType: resolved.hires.scheduleType } as const;
      if (sampler.family === 'k-diffusion') {
        const sigmas = walkedSigmas(sampler, pass, schedule);
        assert.equal(sigmas.length, c.sigmas?.length);
        c.sigmas?.forEach((expected, i) => assert.ok(Math.abs((sigmas[i] ?? NaN) - expected) <= 2e-6 * Math.max(1, expected), `sigma ${i}`));
      } else {
        assert.deepEqual(walkedTimesteps(pass).timesteps, c.timesteps);
      }
      assert.equal(hiresInfotext(resolved.hires, resolved)['Hires schedule type'], c.written ?? undefined);
      // The progress unit counts the second pass on that schedule.
      const first = countModelCalls({ ...resolved, hires: undefined }, SCHEDULER_CONFIG);
      const walked = sampler.family === 'k-diffusion' ? sampler.modelCalls(walkedSigmas(sampler, pass, schedule)) : sampler.modelCalls(walkedTimesteps(pass).timesteps);
      assert.equal(countModelCalls(resolved, SCHEDULER_CONFIG) - first, walked);
    });
  }

  it("inherits a sampler id's own schedule as A1111 reads the name (\"DPM++ 2M Karras\": DPM++ 2M, Karras)", () => {
    const inherited = resolveRequest({ prompt: 'x', compat: 'a1111', sampler: 'dpmpp_2m_karras', hires: { scale: 1.5, sampler: 'Euler' } });
    assert.equal(inherited.hires?.scheduleType, 'Karras');
    // A hires sampler id that names its schedule keeps it; another schedule type beside it is refused.
    const own = resolveRequest({ prompt: 'x', compat: 'a1111', sampler: 'euler', scheduleType: 'Exponential', hires: { scale: 1.5, sampler: 'dpmpp_2m_karras' } });
    assert.equal(own.hires?.scheduleType, 'Automatic');
    assert.throws(
      () => resolveRequest({ prompt: 'x', compat: 'a1111', sampler: 'euler', hires: { scale: 1.5, sampler: 'dpmpp_2m_karras', scheduleType: 'Exponential' } }),
      /it cannot take `hires.scheduleType` Exponential/,
    );
    assert.throws(() => resolveRequest({ prompt: 'x', sampler: 'euler', hires: { scale: 1.5, scheduleType: 'Karras' } }), /A hires pass's own scheduleType need `compat` a1111/);
    assert.throws(() => resolveRequest({ prompt: 'x', compat: 'a1111', sampler: 'euler', hires: { scale: 1.5, scheduleType: 'Cosine' } }), /Unknown schedule type "Cosine"/);
  });
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

  it('walks the Hires schedule type in the second pass', async () => {
    const hires = { scale: 1.5, steps: 3, strength: 0.4 } as const;
    const plain = await pipeline.generate({ ...BASE, hires });
    const reports: number[] = [];
    const karras = await pipeline.generate({ ...BASE, hires: { ...hires, scheduleType: 'Karras' } }, { onProgress: (step) => reports.push(step) });
    assert.equal(reports.length, countModelCalls(resolveRequest({ ...BASE, hires: { ...hires, scheduleType: 'Karras' } }), pipeline.info.schedulerConfig));
    assert.ok(maxAbsDifference(karras.images[0]?.image.data ?? new Float32Array(), plain.images[0]?.image.data ?? new Float32Array()) > 1e-3);
    // Named as the first pass's, it is the first pass's.
    const same = await pipeline.generate({ ...BASE, hires: { ...hires, scheduleType: 'Automatic' } });
    assert.deepEqual(same.images[0]?.image.data, plain.images[0]?.image.data);
  });

  it('runs a hires sampler, prompt, negative prompt and CFG of its own in the second pass', async () => {
    const hires = { scale: 1.5, steps: 3, strength: 0.4 } as const;
    const plain = await pipeline.generate({ ...BASE, hires });
    const reports: number[] = [];
    const own = { ...hires, sampler: 'DDIM', prompt: 'a red boat', negativePrompt: 'fog', cfg: 3 };
    const result = await pipeline.generate({ ...BASE, hires: own }, { onProgress: (step) => reports.push(step) });
    // Euler a's 4 calls, then DDIM's: of a ⌊3 / 0.4⌋ = 7-entry table it walks [1, 143] from 285, one call (A1111's
    // DDIM stops at the table's second entry).
    assert.equal(reports.length, countModelCalls(resolveRequest({ ...BASE, hires: own }), pipeline.info.schedulerConfig));
    assert.equal(reports.length, 4 + 1);
    assert.ok(maxAbsDifference(result.images[0]?.image.data ?? new Float32Array(), plain.images[0]?.image.data ?? new Float32Array()) > 1e-3);
    // Each setting counts on its own.
    for (const change of [{ prompt: 'a red boat' }, { negativePrompt: 'fog' }, { cfg: 3 }]) {
      const changed = await pipeline.generate({ ...BASE, hires: { ...hires, ...change } });
      assert.ok(maxAbsDifference(changed.images[0]?.image.data ?? new Float32Array(), plain.images[0]?.image.data ?? new Float32Array()) > 0, JSON.stringify(change));
    }
    await assert.rejects(pipeline.generate({ ...BASE, compat: 'diffusers', sampler: 'euler_a', hires: own }), /A hires pass's own sampler, prompt, negativePrompt, cfg need `compat` a1111/);
    await assert.rejects(pipeline.generate({ ...BASE, hires: { ...hires, sampler: 'DEIS' } }), /DEIS has no A1111 port/);
  });

  it('offsets prompt editing in the second pass by the first: a fraction below 1 has switched already', async () => {
    const hires = { scale: 1.5, steps: 3, strength: 0.5 } as const;
    const edited = await pipeline.generate({ ...BASE, prompt: '[a cat:a dog:0.5]', hires });
    const after = await pipeline.generate({ ...BASE, prompt: '[a cat:a dog:0.5]', hires: { ...hires, prompt: 'a dog' } });
    assert.deepEqual(edited.images[0]?.image.data, after.images[0]?.image.data);
    // [a cat:a dog:1.5]: the first pass draws "a cat" throughout, the second switches halfway (call 1 of 3).
    const late = await pipeline.generate({ ...BASE, prompt: '[a cat:a dog:1.5]', hires });
    const cat = await pipeline.generate({ ...BASE, prompt: 'a cat', hires });
    assert.ok(maxAbsDifference(late.images[0]?.image.data ?? new Float32Array(), cat.images[0]?.image.data ?? new Float32Array()) > 0);
  });

  it('runs any hires strength above 0, as A1111 does (its hires steps of a ⌊steps / strength⌋ schedule)', async () => {
    const reports: number[] = [];
    await pipeline.generate({ ...BASE, hires: { scale: 1.5, steps: 2, strength: 0.3 } }, { onProgress: (step) => reports.push(step) });
    assert.equal(reports.length, 4 + 2);
    await assert.rejects(pipeline.generate({ ...BASE, hires: { scale: 1.5, steps: 2, strength: 0 } }), /Expected `hires.strength` above 0/);
    await assert.rejects(pipeline.generate({ ...BASE, compat: 'diffusers', hires: { scale: 1.5, steps: 2, strength: 0.3 } }), /at least 1, got 0.3 × 2/);
  });

  it("resizes a Lanczos upscale to A1111's int(side · scale), not a multiple of 8; the picture is its eighth, floored, × 8", async () => {
    const resolved = resolveRequest({ ...BASE, hires: { scale: 1.3, upscaler: 'lanczos' } });
    assert.deepEqual([resolved.hires?.upscaledWidth, resolved.hires?.upscaledHeight, resolved.hires?.width], [83, 83, 80]);
    const result = await pipeline.generate({ ...BASE, hires: { scale: 1.3, steps: 2, upscaler: 'lanczos' } });
    assert.deepEqual([result.images[0]?.image.width, result.images[0]?.image.height], [80, 80]);
  });

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

  it("honours a pasted Hires sampler, Hires prompt, Hires negative prompt and Forge's Hires CFG Scale", () => {
    const line = 'Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 5, Size: 512x768, Model: m, Denoising strength: 0.45, ' +
      'Hires sampler: DDIM, Hires prompt: "a boat, at sea", Hires negative prompt: fog, Hires upscale: 1.5, Hires steps: 6, Hires upscaler: Latent, Hires CFG Scale: 4.5, Version: v1.10.1';
    const { request, ignored } = requestFromInfotext(`a cat\n${line}`);
    assert.deepEqual(request.hires, { scale: 1.5, upscaler: 'latent', steps: 6, strength: 0.45, sampler: 'ddim', prompt: 'a boat, at sea', negativePrompt: 'fog', cfg: 4.5 });
    assert.deepEqual(ignored, []);
    assert.deepEqual(requestFromInfotext(`a cat\n${line.replace('DDIM', 'Euler CFG++')}`).ignored, [
      "Hires sampler: Euler CFG++ (not in dreamcord; the first pass's sampler used)",
    ]);
  });

  it('honours a pasted Hires schedule type ("Use same scheduler": the first pass\'s) and names one dreamcord lacks', () => {
    const line = 'Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 5, Size: 512x768, Model: m, Denoising strength: 0.45, ' +
      'Hires schedule type: Karras, Hires upscale: 1.5, Hires steps: 6, Hires upscaler: Latent, Version: v1.10.1';
    const { request, ignored } = requestFromInfotext(`a cat\n${line}`);
    assert.deepEqual([request.hires?.scheduleType, ignored], ['Karras', []]);
    assert.equal(requestFromInfotext(`a cat\n${line.replace('Karras', 'Use same scheduler')}`).request.hires?.scheduleType, undefined);
    const unknown = requestFromInfotext(`a cat\n${line.replace('Hires schedule type: Karras', 'Hires schedule type: Cosine')}`);
    assert.deepEqual([unknown.request.hires?.scheduleType, unknown.ignored], [undefined, ["Hires schedule type: Cosine (not in dreamcord; the first pass's schedule type used)"]]);
    // A Hires sampler that names its schedule is that sampler on that schedule, as A1111's get_sampler_and_scheduler reads it.
    const named = requestFromInfotext(`a cat\n${line.replace('Hires schedule type: Karras', 'Hires sampler: DPM++ 2M Karras, Hires schedule type: Exponential')}`);
    assert.deepEqual([named.request.hires?.sampler, named.request.hires?.scheduleType], ['dpmpp_2m', 'Karras']);
    assert.deepEqual(named.ignored, ["Hires schedule type: Exponential (the Hires sampler's name says Karras, as A1111 reads it)"]);
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
    // A hires pass's own sampler, prompt and CFG are written in A1111's order, and read back.
    const own = join(dir, 'own.txt');
    writeFileSync(own, `a cat\n${line.replace('Hires upscale', 'Hires sampler: DDIM, Hires prompt: a dog, Hires upscale').replace(', Version', ', Hires CFG Scale: 4, Version')}`);
    await generateCommand.run(['--infotext', own, '--model', 'test/fixtures/tiny-sd', '--ep', 'cpu', '--out', out], { stdout: captureStream(), stderr: captureStream() });
    const again = readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '';
    assert.match(again, /Denoising strength: 0\.5, .*Hires sampler: DDIM, Hires prompt: a dog, Hires upscale: 1\.5, Hires steps: 2, Hires upscaler: Latent, Hires CFG Scale: 4, Version: /);
    assert.deepEqual(requestFromInfotext(again).request.hires, requestFromInfotext(readFileSync(own, 'utf8')).request.hires);
    // A Hires schedule type comes after the hires prompts, before Hires upscale, as A1111's `init` placed it.
    const scheduled = join(dir, 'scheduled.txt');
    writeFileSync(scheduled, `a cat\n${line.replace('Hires upscale', 'Hires prompt: a dog, Hires schedule type: Karras, Hires upscale')}`);
    await generateCommand.run(['--infotext', scheduled, '--model', 'test/fixtures/tiny-sd', '--ep', 'cpu', '--out', out], { stdout: captureStream(), stderr: captureStream() });
    const third = readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '';
    assert.match(third, /Hires prompt: a dog, Hires schedule type: Karras, Hires upscale: 1\.5, /);
    assert.equal(requestFromInfotext(third).request.hires?.scheduleType, 'Karras');
  });
});
