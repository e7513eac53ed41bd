// A1111's timestep samplers (DDIM, DDIM CFG++, PLMS, UniPC) against test/fixtures/a1111-schedules/timesteps.json:
// `get_timesteps` and the samplers of sd_samplers_timesteps_impl.py transcribed in numpy float32
// (make_timesteps.py), run with the same stand-in guided model and recorded noise draws. Checked: the timestep
// tables, the timestep of every model call, the draws of the image generators, the result, the calls announced;
// then the samplers on the tiny model in A1111 mode.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ldmAlphasCumprod } from '../../../src/pipeline/a1111/compvis.js';
import { a1111SamplerFor } from '../../../src/pipeline/a1111/samplers.js';
import { a1111Timesteps, walkedTimesteps, type TimestepSampler } from '../../../src/pipeline/a1111/timestep-samplers.js';
import { a1111Fields, parseSamplerName, StableDiffusionPipeline, type GenerateRequest } from '../../../src/pipeline/index.js';
import { secondPictureAlone, standInEpsModel } from './sampler-checks.js';

interface TimestepCase {
  readonly sampler: string;
  readonly kind: 'txt2img' | 'img2img';
  readonly steps: number;
  readonly strength: number | null;
  readonly timesteps: readonly number[];
  readonly start: readonly number[];
  readonly calls: readonly number[];
  readonly draws_used: number;
  readonly result: readonly number[];
}

const fixture = JSON.parse(readFileSync('test/fixtures/a1111-schedules/timesteps.json', 'utf8')) as {
  shape: number[];
  cfg: number;
  draws: number[];
  get_timesteps: Record<string, number[]>;
  cases: TimestepCase[];
};
const alphasCumprod = ldmAlphasCumprod({ beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000, beta_schedule: 'scaled_linear' });
const size = fixture.shape.reduce((a, b) => a * b, 1);
const f32 = Math.fround;

function timestepSampler(name: string): TimestepSampler {
  const sampler = a1111SamplerFor(parseSamplerName(name));
  assert.ok(sampler?.family === 'timesteps', `${name} is one of A1111's timestep samplers`);
  return sampler;
}

describe('A1111 timestep samplers against their numpy transcription', () => {
  it('get_timesteps for 1–150 steps: range(0, 1000, 1000 // steps) + 1, clipped', () => {
    for (const [steps, expected] of Object.entries(fixture.get_timesteps)) assert.deepEqual(a1111Timesteps(Number(steps)), expected, `${steps} steps`);
  });

  for (const c of fixture.cases) {
    it(`${c.sampler}, ${c.kind}, ${c.steps} steps: timesteps, calls, draws and result`, async () => {
      const sampler = timestepSampler(c.sampler);
      const walked = walkedTimesteps({ kind: c.kind, steps: c.steps, strength: c.strength ?? 1 });
      assert.deepEqual(walked.timesteps, c.timesteps);
      const calls: number[] = [];
      let used = 0;
      const noise = () => Float32Array.from(fixture.draws.slice(size * used, size * ++used));
      const result = await sampler.sample(standInEpsModel(calls, f32(fixture.cfg * sampler.cfgMultiplier), alphasCumprod), Float32Array.from(c.start), walked.timesteps, noise, alphasCumprod, c.kind === 'img2img');
      assert.equal(calls.length, c.calls.length, 'model calls');
      c.calls.forEach((expected, i) => assert.ok(Math.abs((calls[i] ?? NaN) - expected) <= 1e-4, `call ${i}: t ${calls[i]} vs ${expected}`));
      assert.equal(used, c.draws_used, 'draws of the image generators');
      const worst = Math.max(...c.result.map((expected, i) => Math.abs((result[i] ?? NaN) - expected)));
      assert.ok(worst <= 2e-6, `max |Δ| ${worst}`);
      assert.equal(sampler.modelCalls(walked.timesteps), c.calls.length, 'announced calls');
    });
  }
});

describe('A1111 timestep samplers on the tiny model (compat a1111)', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());
  const base = { prompt: 'a fox', compat: 'a1111', steps: 8, width: 64, height: 64 } as const satisfies GenerateRequest;

  for (const sampler of ['DDIM', 'DDIM CFG++', 'PLMS', 'UniPC']) {
    it(`${sampler}: reports its calls; picture 2 of a batch is its seed's picture alone; the schedule type changes nothing`, async () => {
      const { progress, difference } = await secondPictureAlone(pipeline, { ...base, sampler }, { scheduleType: 'Karras' });
      assert.deepEqual(progress.at(-1), [progress.length, progress.length]);
      assert.equal(progress.length, sampler === 'PLMS' || sampler === 'UniPC' ? 8 : 7);
      assert.ok(difference < 1e-5, `max |Δ| ${difference}`);
    });
  }

  it('writes A1111\'s names, the schedule type as chosen, and no ENSD (eta 0)', () => {
    const fields = (sampler: string, scheduleType: 'Automatic' | 'Karras') =>
      a1111Fields({ kind: 'txt2img', steps: 8, prompt: 'a fox', negativePrompt: '', promptSyntax: 'a1111', compat: 'a1111', sampler: parseSamplerName(sampler), scheduleType, ensd: 31337 });
    assert.deepEqual(fields('DDIM', 'Automatic'), { sampler: 'DDIM', scheduleType: 'Automatic' });
    assert.deepEqual(fields('DDIM CFG++', 'Karras'), { sampler: 'DDIM CFG++', scheduleType: 'Karras' });
    assert.deepEqual(fields('PLMS', 'Automatic'), { sampler: 'PLMS', scheduleType: 'Automatic' });
    assert.deepEqual(fields('UniPC', 'Automatic'), { sampler: 'UniPC', scheduleType: 'Automatic' });
  });

  it('refuses UniPC with fewer timesteps to walk than its order, as A1111 stops it', async () => {
    await assert.rejects(pipeline.generate({ ...base, sampler: 'UniPC', steps: 2 }), /A1111's UniPC needs at least 3 steps to walk \(its order\), got 2/);
  });
});
