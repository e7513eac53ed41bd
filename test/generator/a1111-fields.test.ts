// The bot's infotext of a remade A1111 hires fix: its `Hires schedule type` where A1111 writes one (after the hires
// prompts, before `Hires upscale`) and its `Extra noise` last, so that A1111's paste (and dreamcord's) remakes it;
// neither where diffusers' fallback ran (a model whose prediction type A1111's sampling has no port for), nor the
// schedule type or the hires pass's own sampler and prompts it ignored.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GenerationRequest } from '../../src/generator/request.js';
import { StableDiffusionGenerator } from '../../src/generator/sd-generator.js';
import { requestFromInfotext } from '../../src/pipeline/index.js';
import { TINY_REQUEST } from '../support/requests.js';
import { samplePredictionCopy } from '../pipeline/a1111/sample-prediction.js';

const HIRES: GenerationRequest = {
  ...TINY_REQUEST,
  compat: 'a1111',
  hires: { scale: 1.5, upscaler: 'latent', strength: 0.5, steps: 2, scheduleType: 'Karras' },
  extraNoise: 0.25,
};

describe("the bot's infotext of A1111's hires schedule type and extra noise", () => {
  it('writes them where A1111 does, and they read back', async () => {
    const generator = await StableDiffusionGenerator.load('test/fixtures/tiny-sd', { provider: 'cpu' });
    const result = await generator.generate(HIRES, { signal: new AbortController().signal, onProgress: () => undefined });
    const parameters = result.images[0]?.parameters ?? '';
    assert.match(parameters, /Hires schedule type: Karras, Hires upscale: 1\.5, Hires steps: 2, Hires upscaler: Latent, Extra noise: 0\.25, /);
    const { request, ignored } = requestFromInfotext(parameters);
    assert.deepEqual([request.hires?.scheduleType, request.extraNoise], ['Karras', 0.25]);
    assert.ok(ignored.every((field) => !/Hires schedule type|Extra noise/.test(field)), ignored.join('; '));
  });

  it("leaves them out where diffusers' fallback ran, which did not use them, and tells the member", async () => {
    const generator = await StableDiffusionGenerator.load(samplePredictionCopy('tiny-sd'), { provider: 'cpu' });
    const result = await generator.generate(HIRES, { signal: new AbortController().signal, onProgress: () => undefined });
    assert.doesNotMatch(result.images[0]?.parameters ?? '', /Hires schedule type|Extra noise/);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /does not honour: Extra noise: 0\.25 .*; Hires schedule type: Karras /);
  });

  it("leaves out the schedule type and the hires pass's own sampler and prompts where diffusers' fallback ran", async () => {
    const generator = await StableDiffusionGenerator.load(samplePredictionCopy('tiny-sd'), { provider: 'cpu' });
    const own = { sampler: 'dpmpp_2m', prompt: 'a tower', negativePrompt: 'fog' } as const;
    const request: GenerationRequest = { ...HIRES, extraNoise: 0, scheduleType: 'Exponential', hires: { scale: 1.5, upscaler: 'latent', strength: 0.5, steps: 2, ...own } };
    const result = await generator.generate(request, { signal: new AbortController().signal, onProgress: () => undefined });
    assert.doesNotMatch(result.images[0]?.parameters ?? '', /Exponential|Hires sampler|Hires prompt|Hires negative prompt/);
    assert.match(result.warnings[0] ?? '', /does not honour: Schedule type: Exponential .*; Hires sampler: DPM\+\+ 2M .*; Hires prompt: a tower .*; Hires negative prompt: fog /);
  });
});
