import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPipelineError } from '../../../src/pipeline/errors.js';
import { createGenerator, MAX_RANDOM_SEED, MAX_SEED, randomSeed } from '../../../src/pipeline/rng/index.js';
import type { RngSource } from '../../../src/pipeline/rng/index.js';

const SOURCES: RngSource[] = ['cpu', 'gpu'];

describe('createGenerator seeds', () => {
  for (const [seed, shown] of [
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [2 ** 64, '18446744073709551616'],
    [-1n, '-1'],
    [MAX_SEED + 1n, '18446744073709551616'],
  ] as const) {
    it(`rejects ${shown}`, () => {
      for (const source of SOURCES) {
        assert.throws(
          () => createGenerator(seed, source),
          (error: unknown) =>
            isPipelineError(error, 'INVALID_REQUEST') &&
            error.details.field === 'seed' &&
            error.message === `Expected \`seed\` to be an integer 0–18446744073709551615, got ${shown}`,
        );
      }
    });
  }

  it('accepts bigint seeds up to 2^64−1, each giving its own stream', () => {
    for (const source of SOURCES) {
      const draws = [MAX_SEED, MAX_SEED - 1n, 2n ** 63n].map((seed) => createGenerator(seed, source).randn([4]));
      for (const draw of draws) assert.ok(draw.every(Number.isFinite));
      assert.notDeepEqual(draws[0], draws[1]);
      assert.notDeepEqual(draws[1], draws[2]);
    }
  });

  it('gives a number seed and the equal bigint the same stream', () => {
    for (const source of SOURCES) {
      const fromNumber = createGenerator(2 ** 40 + 3, source).randn([20]);
      assert.deepEqual(fromNumber, createGenerator(2n ** 40n + 3n, source).randn([20]));
    }
  });

  it('rejects an unknown source and a malformed shape', () => {
    assert.throws(() => createGenerator(1, 'tpu' as RngSource), {
      name: 'RangeError',
      message: "Expected `source` to be 'cpu' or 'gpu', got tpu",
    });
    assert.throws(() => createGenerator(1, 'cpu').randn([2, -1]), {
      name: 'RangeError',
      message: 'Expected `shape` to hold non-negative integers, got [2, -1]',
    });
  });
});

describe('randomSeed', () => {
  it('reaches both ends of 0 … 2^32 − 1, the range asked of the draw being max-exclusive', () => {
    const asked: Array<[number, number]> = [];
    const lowest = randomSeed((min, max) => (asked.push([min, max]), min));
    const highest = randomSeed((min, max) => max - 1);
    assert.equal(lowest, 0n);
    assert.equal(highest, 2n ** 32n - 1n);
    assert.equal(highest, MAX_RANDOM_SEED);
    assert.deepEqual(asked, [[0, 2 ** 32]]);
  });

  it('draws from crypto by default, within the range', () => {
    for (let i = 0; i < 100; i++) {
      const seed = randomSeed();
      assert.ok(seed >= 0n && seed <= MAX_RANDOM_SEED, String(seed));
    }
  });
});
