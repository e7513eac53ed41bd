// Issue 18: an unknown LoRA name is answered with the names it was probably meant to be.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeNames } from '../../src/jobs/close-names.js';

describe('closeNames', () => {
  const names = ['ink', 'inkwash', 'detail-tweaker', 'Detail_Slider', 'add-detail'];

  it('suggests names one or two edits away, case ignored, closest first', () => {
    assert.deepEqual(closeNames('detail-tweeker', names), ['detail-tweaker']);
    assert.deepEqual(closeNames('DETAIL-SLIDER', names), ['Detail_Slider']);
    assert.deepEqual(closeNames('inkwahs', names), ['inkwash']);
    assert.deepEqual(closeNames('add_detail', names), ['add-detail']);
    assert.deepEqual(closeNames('inc', names), ['ink']); // 1 edit of 3 letters: a third
    assert.deepEqual(closeNames('details', ['tails', 'detail']), ['detail', 'tails']);
  });

  it('suggests nothing when short names differ by more than a third, or nothing is near', () => {
    assert.deepEqual(closeNames('ice', names), []); // 2 edits of 3 letters
    assert.deepEqual(closeNames('add_detial', names), []); // a swap is 2 edits, and a replacement 1 more
    assert.deepEqual(closeNames('gone', names), []);
    assert.deepEqual(closeNames('anything', []), []);
  });
});
