// Issue 14: the model family is declared in one table, and what depends on it (the native size) is read from there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MODEL_FAMILIES } from '../../src/pipeline/index.js';
import { familyOf, nativeSizeOf } from '../../src/pipeline/models/families.js';

describe('MODEL_FAMILIES', () => {
  it('tells each family by its declared text width, and counts narrower test models as SD 1.x', () => {
    for (const [family, facts] of Object.entries(MODEL_FAMILIES)) assert.equal(familyOf(facts.textWidth), family);
    assert.equal(familyOf(32), 'sd1');
  });

  it('gives SD 2.x v-prediction models their 768 native size, every other model 512', () => {
    assert.equal(nativeSizeOf('sd2', 'v_prediction'), 768);
    assert.equal(nativeSizeOf('sd2', 'epsilon'), 512);
    assert.equal(nativeSizeOf('sd1', 'v_prediction'), 512);
  });
});
