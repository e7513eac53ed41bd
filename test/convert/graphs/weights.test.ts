import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WeightSource } from '../../../src/checkpoint/components.js';
import { Weights } from '../../../src/convert/graphs/weights.js';
import { GraphBuilder } from '../../../src/onnx-writer/index.js';

/** A Linear weight [out 2, in 3] = [[1, 2, 3], [4, 5, 6]], stored as F16 (its bits are 1000 + value, for the test). */
const source: WeightSource = {
  names: () => ['proj.weight'],
  has: (name) => name === 'proj.weight',
  shape: () => [2, 3],
  read: () => Float32Array.of(1, 2, 3, 4, 5, 6),
  readFloat16: () => Uint16Array.of(1001, 1002, 1003, 1004, 1005, 1006),
};

describe('Weights.matrix', () => {
  it('transposes a Linear weight to [in, out], both as float32 and as fp16 bits', () => {
    const g = new GraphBuilder('m', { floatType: 'float16' });
    new Weights(g, source).matrix('proj.weight');
    const [weight] = g.weights;
    assert.deepEqual(weight?.tensor.dims, [3, 2]);
    assert.deepEqual([...(weight?.tensor.read() ?? [])], [1, 4, 2, 5, 3, 6]);
    assert.deepEqual([...(weight?.tensor.readFloat16?.() ?? [])], [1001, 1004, 1002, 1005, 1003, 1006]);
  });

  it('has no fp16 bits when the source has none', () => {
    const g = new GraphBuilder('m', { floatType: 'float16' });
    new Weights(g, { ...source, readFloat16: () => undefined }).matrix('proj.weight');
    assert.equal(g.weights[0]?.tensor.readFloat16?.(), undefined);
  });
});
