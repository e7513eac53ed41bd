// A1111's variation seeds (`rng.ImageRNG.first` with `rng.slerp`): picture i's initial noise is its seed's noise
// moved towards its variation seed's by the strength; at strength 1 it is the variation seed's noise itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImageNoise, slerp } from '../../../src/pipeline/a1111/image-noise.js';
import { createGenerator, StableDiffusionPipeline, type GenerateRequest } from '../../../src/pipeline/index.js';
import { maxAbsDifference } from '../harness.js';

const SHAPE = [4, 8, 8];

describe('A1111 variation seeds', () => {
  it('slerps along the height of each channel and column, as rng.slerp does for a [C, H, W] tensor', () => {
    // One channel, two rows, one column: the column vectors (1, 0) and (0, 1) are 90° apart.
    const halfway = slerp(0.5, Float32Array.of(1, 0), Float32Array.of(0, 1), [1, 2, 1]);
    assert.ok(maxAbsDifference(halfway, Float32Array.of(Math.SQRT1_2, Math.SQRT1_2)) < 1e-7);
    // Nearly parallel noise takes A1111's linear branch, low·val + high·(1 − val).
    const parallel = slerp(0.25, Float32Array.of(1, 2), Float32Array.of(1, 2.0001), [1, 2, 1]);
    assert.ok(maxAbsDifference(parallel, Float32Array.of(0.25 + 0.75, 0.5 + 1.500075)) < 1e-6);
  });

  it('gives each picture its seed’s noise at strength 0 and its variation seed’s at strength 1', () => {
    const first = (strength: number) => new ImageNoise([5n, 6n], 'gpu', SHAPE, 0n, { seeds: [40n, 41n], strength }).next();
    const plain = new ImageNoise([5n, 6n], 'gpu', SHAPE, 0n).next();
    assert.deepEqual(first(0), plain);
    const variation = Float32Array.from([...createGenerator(40n, 'gpu').randn(SHAPE), ...createGenerator(41n, 'gpu').randn(SHAPE)]);
    assert.ok(maxAbsDifference(first(1), variation) < 1e-5);
  });

  describe('through the pipeline', () => {
    let pipeline: StableDiffusionPipeline;
    before(async () => {
      pipeline = await StableDiffusionPipeline.load('test/fixtures/tiny-sd', { provider: 'cpu' });
    });
    after(() => pipeline.dispose());
    const base = { prompt: 'a fox', compat: 'a1111', steps: 4, width: 64, height: 64, sampler: 'Euler' } as const satisfies GenerateRequest;

    it('draws the variation seed’s picture at strength 1 (Euler draws nothing after the first), and reports each picture’s', async () => {
      const varied = await pipeline.generate({ ...base, seed: 5, variationSeed: 40, variationStrength: 1, count: 2 });
      const direct = await pipeline.generate({ ...base, seed: 40, count: 2 });
      varied.images.forEach((image, i) => {
        assert.ok(maxAbsDifference(image.image.data, direct.images[i]?.image.data ?? new Float32Array()) < 1e-4);
      });
      assert.deepEqual(varied.images.map((image) => image.variationSeed), [40n, 41n]);
      await assert.rejects(pipeline.generate({ ...base, compat: 'diffusers', variationStrength: 0.5 }), /need `compat` a1111/);
    });
  });
});
