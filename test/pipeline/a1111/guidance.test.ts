// A1111 mode's guidance applies `uncond + cfg · (cond − uncond)` at any scale (diffusers skips the negative
// prompt at cfg ≤ 1): at cfg 0 the picture is the negative prompt's, at cfg 1 the prompt's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StableDiffusionPipeline, type GenerateRequest } from '../../../src/pipeline/index.js';
import { maxAbsDifference } from '../harness.js';

const BASE = { compat: 'a1111', seed: 5, steps: 4, width: 64, height: 64, sampler: 'Euler' } as const satisfies Partial<GenerateRequest>;

describe('A1111 guidance at any scale', () => {
  let pipeline: StableDiffusionPipeline;
  before(async () => {
    pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
  });
  after(() => pipeline.dispose());

  const picture = async (request: GenerateRequest): Promise<Float32Array> =>
    (await pipeline.generate(request)).images[0]?.image.data ?? new Float32Array();

  it('draws the negative prompt at cfg 0 and the prompt at cfg 1, as A1111 does', async () => {
    const zero = await picture({ ...BASE, prompt: 'a red fox', negativePrompt: 'a blue whale', cfg: 0 });
    const negativeAlone = await picture({ ...BASE, prompt: 'a blue whale', negativePrompt: 'a red fox', cfg: 1 });
    assert.ok(maxAbsDifference(zero, negativeAlone) < 1e-5);
    const half = await picture({ ...BASE, prompt: 'a red fox', negativePrompt: 'a blue whale', cfg: 0.5 });
    assert.ok(maxAbsDifference(half, zero) > 1e-3, 'cfg 0.5 mixes in the prompt');
  });
});
