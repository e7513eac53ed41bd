import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TensorHistory } from '../../../src/pipeline/schedulers/history.js';

describe('TensorHistory', () => {
  it('keeps the newest tensors, reusing the buffer of the dropped one', () => {
    const history = new TensorHistory(2);
    history.push(3).fill(1);
    const second = history.push(3).fill(2);
    const third = history.push(3).fill(3);
    assert.equal(history.count, 2);
    assert.deepEqual(Array.from(history.at(0)), [3, 3, 3]);
    assert.deepEqual(Array.from(history.at(1)), [2, 2, 2]);
    assert.equal(history.at(1), second);
    assert.notEqual(third, second);
    assert.throws(() => history.at(2), /history age in 0–1, got 2/);
  });

  it('forgets everything on clear and when the tensor size changes', () => {
    const history = new TensorHistory(3);
    history.push(2);
    history.push(2);
    history.clear();
    assert.equal(history.count, 0);
    history.push(2);
    history.push(4);
    assert.equal(history.count, 1);
    assert.equal(history.at(0).length, 4);
  });

  it('rejects a capacity below 1', () => {
    assert.throws(() => new TensorHistory(0), /capacity that is an integer from 1 and up, got 0/);
  });
});
