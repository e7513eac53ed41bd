import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countModelCalls, resolveRequest, StableDiffusionPipeline, type GenerateRequest } from '../../src/pipeline/index.js';
import { resizeLatents } from '../../src/pipeline/hires.js';

const BASE: GenerateRequest = { prompt: 'a lighthouse at dusk', seed: 7, steps: 6, width: 96, height: 64, sampler: 'euler' };

describe('hires fix', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());

  for (const upscaler of ['latent', 'latent-nearest', 'lanczos'] as const) {
    it(`${upscaler}: pictures at the target size, progress counted over both passes`, async () => {
      const request: GenerateRequest = { ...BASE, count: 2, hires: { scale: 1.5, upscaler, steps: 4 } };
      const reports: [number, number][] = [];
      const result = await pipeline.generate(request, { onProgress: (step, total) => reports.push([step, total]) });
      assert.deepEqual(
        result.images.map(({ image }) => [image.width, image.height]),
        [
          [144, 96],
          [144, 96],
        ],
      );
      // 6 first-pass steps, then ⌊4 · 0.5⌋ = 2 at the target size: one count of 8, the unit of `countModelCalls`.
      const total = countModelCalls(resolveRequest(request), pipeline.info.schedulerConfig);
      assert.equal(total, 8);
      assert.deepEqual(reports, Array.from({ length: total }, (_, i) => [i + 1, total]));
      const again = await pipeline.generate(request);
      assert.deepEqual(again.images[1]?.image.data, result.images[1]?.image.data, 'the same seed gives the same picture');
    });
  }

  it("in A1111 mode: A1111's k-diffusion first pass, then the second pass, counted as one", async () => {
    const request: GenerateRequest = { ...BASE, compat: 'a1111', sampler: 'euler_a', hires: { scale: 2, steps: 4 } };
    const reports: [number, number][] = [];
    const result = await pipeline.generate(request, { onProgress: (step, total) => reports.push([step, total]) });
    assert.deepEqual([result.images[0]?.image.width, result.images[0]?.image.height], [192, 128]);
    const total = countModelCalls(resolveRequest(request), pipeline.info.schedulerConfig);
    assert.deepEqual(reports, Array.from({ length: total }, (_, i) => [i + 1, total]));
  });

  it('refuses a hires fix of an img2img request and a target over the size limit', () => {
    assert.throws(() => resolveRequest({ ...BASE, hires: { scale: 4 }, width: 2048 }), /`hires width` to be a multiple of 8 from 64 to 4096, got 8192/);
    assert.throws(() => resolveRequest({ ...BASE, hires: { scale: 2 }, initImage: { width: 96, height: 64, channels: 3, data: new Float32Array(96 * 64 * 3) } }), /hires fix is for txt2img only/);
    assert.throws(() => resolveRequest({ ...BASE, hires: { scale: 5 } }), /`hires.scale` to be a number 1–4, got 5/);
    assert.throws(() => resolveRequest({ ...BASE, hires: { scale: 2, steps: 1 } }), /`hires.strength` × `hires.steps` to be at least 1/);
  });

  it('rounds each target side down to a multiple of 8', () => {
    const resolved = resolveRequest({ ...BASE, width: 72, height: 64, hires: { scale: 1.5 } });
    assert.deepEqual([resolved.hires?.width, resolved.hires?.height], [104, 96]);
    assert.equal(resolved.hires?.strength, 0.5, 'the default denoising strength');
    assert.equal(resolved.hires?.steps, 6, 'the first pass steps by default');
  });
});

describe('latent upscalers (torch.nn.functional.interpolate)', () => {
  // One 2×2 plane per channel: [[0, 1], [2, 3]] + 10·channel.
  const latents = Float32Array.from({ length: 16 }, (_, i) => (i % 4) + 10 * Math.floor(i / 4));
  const from = { latentWidth: 2, latentHeight: 2 };
  const to = { latentWidth: 4, latentHeight: 4 };

  it('bilinear, align_corners=False: the values torch gives', () => {
    const out = resizeLatents(latents, 1, from, to, 'bilinear');
    // torch: interpolate(tensor([[[[0., 1], [2, 3]]]]), size=(4, 4), mode='bilinear')
    const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    assert.deepEqual([...out.subarray(0, 16)], expected);
    assert.deepEqual([...out.subarray(48, 64)], expected.map((v) => v + 30));
  });

  it('nearest: each value repeated over the block it covers', () => {
    const out = resizeLatents(latents, 1, from, { latentWidth: 3, latentHeight: 4 }, 'nearest');
    // source column ⌊x · 2/3⌋ = 0, 0, 1; source row ⌊y / 2⌋.
    assert.deepEqual([...out.subarray(0, 12)], [0, 0, 1, 0, 0, 1, 2, 2, 3, 2, 2, 3]);
  });
});
