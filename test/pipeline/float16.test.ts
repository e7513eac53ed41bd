import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  float16ToFloat32,
  float32ToFloat16,
  fromFloat16Bits,
  toFloat16Bits,
} from '../../src/pipeline/runtime/float16.js';
import { FloatInput } from '../../src/pipeline/runtime/tensor.js';

describe('fp16 conversion', () => {
  it('round-trips every fp16 value exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromFloat16Bits(bits);
      if (Number.isNaN(value)) {
        assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(value))), `NaN 0x${bits.toString(16)}`);
        continue;
      }
      assert.equal(toFloat16Bits(value), bits, `0x${bits.toString(16)} (${value})`);
    }
  });

  it('rounds to nearest, ties to even', () => {
    const ulpAt1 = 2 ** -10;
    assert.equal(fromFloat16Bits(toFloat16Bits(1 + ulpAt1 / 2)), 1); // tie → even (1)
    assert.equal(fromFloat16Bits(toFloat16Bits(1 + (3 * ulpAt1) / 2)), 1 + 2 * ulpAt1); // tie → even (up)
    assert.equal(fromFloat16Bits(toFloat16Bits(1 + ulpAt1 * 0.51)), 1 + ulpAt1);
    assert.equal(fromFloat16Bits(toFloat16Bits(1 + ulpAt1 * 0.49)), 1);
    assert.equal(fromFloat16Bits(toFloat16Bits(-2.0009765625)), -2); // below half an ulp at 2
  });

  it('handles subnormals, overflow, zeros and NaN', () => {
    assert.equal(fromFloat16Bits(toFloat16Bits(2 ** -24)), 2 ** -24);
    assert.equal(toFloat16Bits(2 ** -25), 0); // tie between 0 and the smallest subnormal → 0
    assert.equal(fromFloat16Bits(toFloat16Bits(3 * 2 ** -26)), 2 ** -24);
    assert.equal(fromFloat16Bits(toFloat16Bits(1e-9)), 0);
    assert.equal(fromFloat16Bits(toFloat16Bits(65519)), 65504);
    assert.equal(fromFloat16Bits(toFloat16Bits(65520)), Infinity); // tie → even, which is 2^16
    assert.equal(fromFloat16Bits(toFloat16Bits(-1e6)), -Infinity);
    assert.equal(toFloat16Bits(-0), 0x8000);
    assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
    // The largest subnormal rounds up into the smallest normal.
    assert.equal(fromFloat16Bits(toFloat16Bits(2 ** -14 - 2 ** -26)), 2 ** -14);
  });

  it('converts arrays both ways', () => {
    const values = Float32Array.of(0, 0.5, -1.25, 3.140625, 1e-5);
    const bits = float32ToFloat16(values);
    assert.ok(bits instanceof Uint16Array);
    const back = float16ToFloat32(bits);
    assert.deepEqual([...back.subarray(0, 4)], [0, 0.5, -1.25, 3.140625]);
    assert.ok(Math.abs((back[4] ?? 0) - 1e-5) < 1e-7);
  });
});

describe('fp16 rounding of arbitrary float32 values', () => {
  it('picks the nearest fp16 value, ties to even, for random values across the range', () => {
    const values = new Float32Array(20_000);
    const bits = new Uint32Array(values.buffer);
    let state = 12345;
    for (let i = 0; i < bits.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      // Magnitudes from 2^-27 to 2^17: zero, subnormal, normal and overflow results, both signs.
      bits[i] = ((state & 1) << 31) | ((100 + (state % 44)) << 23) | (Math.imul(state, 2654435761) >>> 9);
    }
    const converted = float32ToFloat16(values);
    values.forEach((x, i) => {
      const h = converted[i] ?? 0;
      const value = fromFloat16Bits(h);
      if (!Number.isFinite(value)) {
        // Past the largest finite value, IEEE rounds as if 2^16 were representable: from 65520 on.
        assert.ok(Math.abs(x) >= 65520, `${x} → ${value}`);
        return;
      }
      const error = Math.abs(value - x);
      for (const neighbour of [h - 1, h + 1]) {
        // Stay among finite values of the same sign.
        if (neighbour < 0 || (neighbour & 0x7c00) === 0x7c00 || (neighbour & 0x8000) !== (h & 0x8000)) continue;
        const other = Math.abs(fromFloat16Bits(neighbour) - x);
        const message = `${x} → ${value}, not ${fromFloat16Bits(neighbour)}`;
        assert.ok(error < other || (error === other && (h & 1) === 0), message);
      }
    });
  });
});

describe('FloatInput with repeated rows', () => {
  const rows = Float32Array.from({ length: 2 * 3 }, (_, i) => i * 0.37 - 1.1);

  for (const type of ['float32', 'float16'] as const) {
    it(`feeds its ${type} rows repeated along the batch axis, each copy equal to a single conversion`, () => {
      const input = new FloatInput(type, [6, 3], 3);
      assert.equal(input.values.length, rows.length);
      input.values.set(rows);
      const tensor = input.tensor();
      const single = type === 'float16' ? float32ToFloat16(rows) : rows;
      assert.deepEqual(tensor.dims, [6, 3]);
      assert.deepEqual([...tensor.data], [...single, ...single, ...single]);
    });
  }

  it('rejects a repeat count that does not divide the rows', () => {
    assert.throws(() => new FloatInput('float16', [3, 4], 2), /`repeats` to divide the 3 rows of \[3,4\], got 2/);
  });
});
