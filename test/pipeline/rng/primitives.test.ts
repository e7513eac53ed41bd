import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fmaf, mulTowardZero } from '../../../src/pipeline/rng/float32.js';
import { Mt19937 } from '../../../src/pipeline/rng/mt19937.js';
import { philox4x32 } from '../../../src/pipeline/rng/philox.js';

describe('random-number primitives', () => {
  it('Mt19937 meets the C++ standard check: the 10000th word of seed 5489 is 4123659995', () => {
    const engine = new Mt19937(5489);
    for (let i = 1; i < 10000; i++) engine.nextUint32();
    assert.equal(engine.nextUint32(), 4123659995);
  });

  it('philox4x32 matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    assert.deepEqual([...out], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    const ones = 0xffffffff;
    philox4x32(ones, ones, ones, ones, ones, ones, out);
    assert.deepEqual([...out], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    assert.deepEqual([...out], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  it('fmaf rounds once where float64 then float32 would round twice', () => {
    const a = 1 + 2 ** -12;
    // a·a + 2^-60 lies just above the midpoint 1 + 2^-11 + 2^-24; float64 rounds it onto the midpoint.
    assert.equal(Math.fround(a * a + 2 ** -60), 1 + 2 ** -11);
    assert.equal(fmaf(a, a, 2 ** -60), 1 + 2 ** -11 + 2 ** -23);
    assert.equal(fmaf(-a, a, -(2 ** -60)), -(1 + 2 ** -11 + 2 ** -23));
    assert.equal(fmaf(a, a, -(2 ** -60)), 1 + 2 ** -11);
  });

  it('mulTowardZero never rounds away from zero and stays within one ulp', () => {
    let state = 7;
    const next = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return Math.fround((state / 2 ** 32) * 8 - 4);
    };
    for (let i = 0; i < 1000; i++) {
      const a = next();
      const b = next();
      const exact = a * b;
      const result = mulTowardZero(a, b);
      assert.equal(Math.fround(result), result);
      assert.ok(Math.abs(result) <= Math.abs(exact), `${a}·${b}`);
      assert.ok(Math.abs(exact - result) < Math.abs(exact) * 2 ** -23 + Number.MIN_VALUE, `${a}·${b}`);
    }
  });
});
