// The unit of progress: what `countModelCalls` predicts before a job runs is what the pipeline then reports.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  countModelCalls,
  resolveRequest,
  isDiffusersSampler,
  SCHEDULER_IDS,
  StableDiffusionPipeline,
  type GenerateRequest,
  type RgbImage,
} from '../../src/pipeline/index.js';

// Four steps at strength 0.8 leave A1111's UniPC the three timesteps its order needs for img2img.
const STEPS = 4;
const initImage: RgbImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).fill(0.5) };

describe('countModelCalls', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());

  /** The `total` of every progress report of a real generation, and how many reports there were. */
  async function reported(request: GenerateRequest): Promise<{ totals: Set<number>; reports: number }> {
    const totals = new Set<number>();
    let reports = 0;
    await pipeline.generate(request, { onProgress: (_step, total) => (totals.add(total), (reports += 1)) });
    return { totals, reports };
  }

  // DPM adaptive's calls depend on its error control: its count is an estimate (samplers.test.ts checks its reports).
  for (const sampler of SCHEDULER_IDS.filter((id) => id !== 'dpm_adaptive')) {
    it(`${sampler}: the model calls predicted are the progress total reported, txt2img and img2img, in each mode it runs in`, async () => {
      const modes = isDiffusersSampler(sampler) ? (['diffusers', 'a1111'] as const) : (['a1111'] as const);
      for (const request of modes.flatMap((compat) => [
        { prompt: 'a cat', sampler, steps: STEPS, width: 64, height: 64, seed: 1, compat },
        { prompt: 'a cat', sampler, steps: STEPS, seed: 1, initImage, strength: 0.8, compat },
      ]) satisfies GenerateRequest[]) {
        const predicted = countModelCalls(resolveRequest(request), pipeline.info.schedulerConfig);
        const { totals, reports } = await reported(request);
        assert.deepEqual([...totals], [predicted], `${request.initImage ? 'img2img' : 'txt2img'}: one total, the predicted one`);
        assert.equal(reports, predicted, 'one report per model call');
      }
    });
  }

  it('counts two calls per step (but the last) for Heun and DPM2, and fewer for img2img', () => {
    const { schedulerConfig } = pipeline.info;
    const txt2img = (sampler: 'heun' | 'dpm2' | 'euler', steps: number) =>
      countModelCalls({ kind: 'txt2img', sampler, steps, strength: 1 }, schedulerConfig);
    assert.equal(txt2img('heun', 25), 49);
    assert.equal(txt2img('dpm2', 25), 49);
    assert.equal(txt2img('euler', 25), 25);
    assert.equal(countModelCalls({ kind: 'img2img', sampler: 'euler', steps: 25, strength: 0.6 }, schedulerConfig), 15);
  });

  it('counts A1111 mode by its schedules: DPM2 a drops a sigma, img2img runs t_enc + 1 steps', () => {
    const { schedulerConfig } = pipeline.info;
    const a1111 = { compat: 'a1111', scheduleType: 'Automatic', strength: 1 } as const;
    assert.equal(countModelCalls({ ...a1111, kind: 'txt2img', sampler: 'heun', steps: 8 }, schedulerConfig), 15);
    assert.equal(countModelCalls({ ...a1111, kind: 'txt2img', sampler: 'dpm2_a', steps: 8 }, schedulerConfig), 15);
    assert.equal(countModelCalls({ ...a1111, kind: 'img2img', sampler: 'euler_a', steps: 8, strength: 0.6 }, schedulerConfig), 5);
    assert.equal(countModelCalls({ ...a1111, kind: 'img2img', sampler: 'euler', steps: 10, strength: 0.01 }, schedulerConfig), 1);
  });
});
