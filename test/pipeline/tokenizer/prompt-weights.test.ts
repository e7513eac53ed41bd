import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applyPromptWeights } from '../../../src/pipeline/tokenizer/index.js';

test('multiplies each token vector by its weight, then restores the mean', () => {
  // 3 tokens × 2: mean 21/6 = 3.5. Weighted [1,2, 6,8, 5,6]: sum 28, so the scale is 21/28 = 0.75.
  const hidden = Float32Array.from([1, 2, 3, 4, 5, 6]);
  applyPromptWeights(hidden, Float32Array.from([1, 2, 1]), 2);
  assert.deepEqual(hidden, Float32Array.from([0.75, 1.5, 4.5, 6, 3.75, 4.5]));
});

test('a weight below 1 scales the others up', () => {
  // Mean 2 (sum 8 over 4). Weighted [2,2, 1,1]: sum 6, scale 8/6.
  const hidden = Float32Array.from([2, 2, 2, 2]);
  applyPromptWeights(hidden, Float32Array.from([1, 0.5]), 2);
  assert.deepEqual(hidden, Float32Array.from([8 / 3, 8 / 3, 4 / 3, 4 / 3]));
});

test('all weights 1 leave the output untouched', () => {
  const hidden = Float32Array.from([0.1, -0.2, 0.3, 0.4]);
  applyPromptWeights(hidden, Float32Array.from([1, 1]), 2);
  assert.deepEqual(hidden, Float32Array.from([0.1, -0.2, 0.3, 0.4]));
});

test('a weighted mean of 0 cannot be restored: the weighted values stay', () => {
  const hidden = Float32Array.from([1, 1, 2, 2]);
  applyPromptWeights(hidden, Float32Array.from([-2, 1]), 2);
  assert.deepEqual(hidden, Float32Array.from([-2, -2, 2, 2]));
});

test('rejects a buffer that is not weights × hiddenSize long', () => {
  assert.throws(() => applyPromptWeights(new Float32Array(10), new Float32Array(3), 4), {
    name: 'RangeError',
    message: 'hidden has 10 values, but 3 weights × hiddenSize 4 = 12',
  });
  assert.throws(() => applyPromptWeights(new Float32Array(4), new Float32Array(2), 0), {
    message: 'hiddenSize must be a positive integer, got 0',
  });
});
