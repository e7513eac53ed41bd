// The A1111 samplers without an oracle case (DPM++ 2S a, DPM fast, DPM adaptive, Restart, LCM) against
// test/fixtures/a1111-schedules/samplers.json: k-diffusion's and A1111's sampler functions transcribed in numpy
// float32 (make_samplers.py), run with the same stand-in denoiser and the same recorded noise draws. Checked: the
// σ of every denoiser call, how many draws of the image generators the sampler takes (A1111's TorchHijack), the
// result, and the call count the progress reports announce.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CompVisSchedule, ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { kSamplerFor } from '../../../src/pipeline/a1111/k-samplers.js';
import { a1111Fields, parseSamplerName, StableDiffusionPipeline, type GenerateRequest } from '../../../src/pipeline/index.js';
import { maxAbsDifference } from '../harness.js';
import { secondPictureAlone, standInDenoiser } from './sampler-checks.js';

interface SamplerCase {
  readonly sampler: string;
  readonly kind: 'txt2img' | 'img2img';
  readonly steps: number;
  readonly sigmas: readonly number[];
  readonly start: readonly number[];
  readonly calls: readonly number[];
  readonly draws_used: number;
  readonly result: readonly number[];
}

const fixture = JSON.parse(readFileSync('test/fixtures/a1111-schedules/samplers.json', 'utf8')) as {
  shape: number[];
  draws: number[];
  cases: SamplerCase[];
};
const schedule = new CompVisSchedule(
  ldmAlphasCumprod({ beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' }),
);
const size = fixture.shape.reduce((a, b) => a * b, 1);

describe('A1111 samplers against their numpy transcription', () => {
  for (const c of fixture.cases) {
    it(`${c.sampler}, ${c.kind}, ${c.steps} steps: calls, draws and result`, async () => {
      const sampler = kSamplerFor(parseSamplerName(c.sampler));
      assert.ok(sampler);
      const sigmas = Float64Array.from(c.sigmas);
      const calls: number[] = [];
      let used = 0;
      const noise = () => Float32Array.from(fixture.draws.slice(size * used, size * ++used));
      const range =
        c.kind === 'txt2img'
          ? { sigmaMin: schedule.sigmaMin, sigmaMax: schedule.sigmaMax }
          : { sigmaMin: sigmas[sigmas.length - 2] ?? NaN, sigmaMax: sigmas[0] ?? NaN };
      const brownian = () => assert.fail('only the SDE samplers ask for Brownian noise');
      const result = await sampler.sample(standInDenoiser(calls), Float32Array.from(c.start), sigmas, noise, { ...range, brownian });

      assert.equal(used, c.draws_used, 'draws of the image generators');
      assert.equal(calls.length, c.calls.length, 'denoiser calls');
      // numpy's float32 exp/log and JavaScript's (float64, then rounded) differ by an ulp at times; DPM fast's
      // long steps and DPM adaptive's step-size control carry that to ~1e-5 (relative).
      c.calls.forEach((expected, i) => assert.ok(Math.abs((calls[i] ?? NaN) - expected) <= 5e-5 * expected, `call ${i}: σ ${calls[i]} vs ${expected}`));
      const worst = Math.max(...c.result.map((expected, i) => Math.abs((result[i] ?? NaN) - expected) / Math.max(1, Math.abs(expected))));
      assert.ok(worst <= 1e-4, `max relative |Δ| ${worst}`);
      if (c.sampler !== 'DPM adaptive') assert.equal(sampler.modelCalls(sigmas), c.calls.length, 'announced calls');
    });
  }

  it('has A1111\'s options for each: default schedule, second order, uses_ensd', () => {
    const options = (name: string) => {
      const sampler = kSamplerFor(parseSamplerName(name));
      assert.ok(sampler);
      const { defaultSchedule, discardNextToLastSigma, secondOrder, usesEnsd } = sampler;
      return { name: sampler.name, defaultSchedule, discardNextToLastSigma, secondOrder, usesEnsd };
    };
    assert.deepEqual(options('DPM++ 2S a'), {
      name: 'DPM++ 2S a',
      defaultSchedule: 'Karras',
      discardNextToLastSigma: false,
      secondOrder: true,
      usesEnsd: true,
    });
    assert.deepEqual(options('dpm_fast'), { name: 'DPM fast', defaultSchedule: undefined, discardNextToLastSigma: false, secondOrder: false, usesEnsd: true });
    assert.deepEqual(options('DPM adaptive'), {
      name: 'DPM adaptive',
      defaultSchedule: undefined,
      discardNextToLastSigma: false,
      secondOrder: false,
      usesEnsd: true,
    });
    assert.deepEqual(options('restart'), { name: 'Restart', defaultSchedule: 'Karras', discardNextToLastSigma: false, secondOrder: true, usesEnsd: false });
  });
});

describe('A1111 samplers on the tiny model (compat a1111)', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());
  const base = { prompt: 'a fox', compat: 'a1111', steps: 6, width: 64, height: 64 } as const satisfies GenerateRequest;

  for (const sampler of ['DPM++ 2S a', 'DPM fast', 'DPM adaptive', 'Restart', 'LCM']) {
    it(`${sampler}: reports the calls it makes; picture 2 of a batch is its seed's picture alone, but for DPM adaptive`, async () => {
      const { progress, difference } = await secondPictureAlone(pipeline, { ...base, sampler });
      const [calls, total] = progress.at(-1) ?? [0, 0];
      assert.equal(calls, progress.length);
      if (sampler !== 'DPM adaptive') assert.equal(calls, total);
      // DPM adaptive's step-size control measures its error over the whole batch (k-diffusion's norm), as in A1111.
      if (sampler === 'DPM adaptive') assert.ok(difference > 1e-3, `max |Δ| ${difference}`);
      else assert.ok(difference < 1e-5, `max |Δ| ${difference}`);
    });
  }

  it('draws with ENSD where A1111 writes it (DPM++ 2S a), and names each sampler and schedule as A1111 does', async () => {
    const plain = await pipeline.generate({ ...base, sampler: 'DPM++ 2S a', seed: 5 });
    const ensd = await pipeline.generate({ ...base, sampler: 'DPM++ 2S a', seed: 5, ensd: 31337 });
    assert.ok(maxAbsDifference(plain.images[0]?.image.data ?? new Float32Array(), ensd.images[0]?.image.data ?? new Float32Array()) > 1e-3);
    const fields = (sampler: string) =>
      a1111Fields({ kind: 'txt2img', steps: 6, prompt: 'a fox', negativePrompt: '', promptSyntax: 'a1111', compat: 'a1111', sampler: parseSamplerName(sampler), ensd: 31337 });
    assert.deepEqual(fields('DPM++ 2S a'), { sampler: 'DPM++ 2S a', scheduleType: 'Karras', ensd: 31337 });
    assert.deepEqual(fields('DPM fast'), { sampler: 'DPM fast', scheduleType: 'Automatic', ensd: 31337 });
    assert.deepEqual(fields('DPM adaptive'), { sampler: 'DPM adaptive', scheduleType: 'Automatic', ensd: 31337 });
    assert.deepEqual(fields('Restart'), { sampler: 'Restart', scheduleType: 'Karras' });
    assert.deepEqual(fields('LCM'), { sampler: 'LCM', scheduleType: 'Automatic' });
  });

  it('refuses them where A1111 sampling does not run (diffusers mode); a hires fix in A1111 mode runs them in both passes', async () => {
    await assert.rejects(pipeline.generate({ ...base, sampler: 'Restart', compat: 'diffusers' }), /Restart is A1111's own sampler: it runs with `compat` a1111/);
    await assert.rejects(
      pipeline.generate({ ...base, sampler: 'DPM fast', compat: 'diffusers', hires: { scale: 2 } }),
      /DPM fast is A1111's own sampler/,
    );
    const hires = await pipeline.generate({ ...base, sampler: 'DPM fast', hires: { scale: 2 } });
    assert.deepEqual([hires.images[0]?.image.width, hires.images[0]?.image.height], [128, 128]);
  });
});
