import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyGuidance, guideOutput } from '../../src/pipeline/guidance.js';
import { latentPreview } from '../../src/pipeline/preview.js';
import { createGenerator } from '../../src/pipeline/rng/index.js';
import { float16ToFloat32 } from '../../src/pipeline/runtime/float16.js';
import { createBatchNoise } from '../../src/pipeline/seeds.js';

describe('classifier-free guidance', () => {
  it('writes uncond + scale·(cond − uncond) over the first half, in float32', () => {
    const prediction = Float32Array.of(1, 2, 0.1, 3, 4, 0.3);
    const guided = applyGuidance(prediction, 7.5);
    assert.equal(guided.length, 3);
    assert.equal(guided.buffer, prediction.buffer);
    const third = Math.fround(0.1 + Math.fround(7.5 * Math.fround(Math.fround(0.3) - Math.fround(0.1))));
    assert.deepEqual([...guided], [1 + 7.5 * 2, 2 + 7.5 * 2, third]);
  });

  it('guides an fp16 output as it decodes it, bit for bit as decoding first, for every fp16 value', () => {
    // Each fp16 value as the unconditional half, against a spread of conditional ones (zeros, subnormals, ±Inf, NaN).
    const half = 0x10000;
    const data = new Uint16Array(2 * half);
    for (let bits = 0; bits < half; bits++) {
      data[bits] = bits;
      data[half + bits] = Math.imul(bits, 40503) & 0xffff;
    }
    const target = new Float32Array(half);
    const guided = guideOutput({ type: 'float16', data, dims: [2, half] }, 7.5, target);
    assert.equal(guided, target);
    const expected = applyGuidance(float16ToFloat32(data), 7.5);
    assert.deepEqual(new Uint32Array(guided.buffer), new Uint32Array(expected.slice().buffer));
  });

  it('guides a float32 output in place, and refuses other types', () => {
    const data = Float32Array.of(1, 2, 3, 5);
    const guided = guideOutput({ type: 'float32', data, dims: [2, 2] }, 2, new Float32Array(0));
    assert.deepEqual([...guided], [5, 8]);
    assert.equal(guided.buffer, data.buffer);
    const ints = { type: 'int32', data: new Int32Array(2), dims: [2] } as const;
    assert.throws(() => guideOutput(ints, 2, new Float32Array(1)), /Expected a float32 or float16 prediction, got int32/);
  });
});

describe('batch noise', () => {
  it('batch mode: one generator for everything, one shared draw', () => {
    const noise = createBatchNoise(7n, 2, 'cpu', 'batch');
    assert.deepEqual(noise.seeds, [7n, 7n]);
    assert.equal(noise.sharedDraws, 1);
    assert.deepEqual(noise.generator.randn([2, 4, 2, 2]), createGenerator(7n, 'cpu').randn([2, 4, 2, 2]));
  });

  it('per-image mode: image i draws its share of every draw from seed + i', () => {
    const noise = createBatchNoise(7n, 2, 'gpu', 'per-image');
    assert.deepEqual(noise.seeds, [7n, 8n]);
    assert.equal(noise.sharedDraws, 2);
    const [a, b] = [createGenerator(7n, 'gpu'), createGenerator(8n, 'gpu')];
    for (let draw = 0; draw < 2; draw++) {
      const both = noise.generator.randn([2, 4, 4, 4]);
      assert.deepEqual(both.subarray(0, 64), a.randn([1, 4, 4, 4]));
      assert.deepEqual(both.subarray(64), b.randn([1, 4, 4, 4]));
    }
    assert.throws(() => noise.generator.randn([3]), /cannot split a draw of 3 values between 2 images/);
  });
});

describe('latent preview', () => {
  it('maps the 4 latent channels to RGB with the SD 1.x factors, per image', () => {
    const latents = new Float32Array(2 * 4 * 1 * 2);
    latents[0] = 1; // image 0, channel 0, pixel 0
    latents[8 + 3 * 2 + 1] = 1; // image 1, channel 3, pixel 1
    const [first, second] = latentPreview(latents, 2, 2, 1);
    assert.deepEqual([...(first?.data ?? [])], [172, 157, 169, 128, 128, 128]);
    assert.deepEqual([...(second?.data ?? [])].slice(3), [100, 94, 36]);
  });
});
