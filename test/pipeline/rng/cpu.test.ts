import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createGenerator } from '../../../src/pipeline/rng/index.js';
import { firstBitMismatch, measuredRuns, readFloat32, rngReferences } from './references.js';

function assertBitExact(actual: Float32Array, expected: ArrayLike<number>, what: string): void {
  const at = firstBitMismatch(actual, expected);
  assert.equal(at, -1, `${what}: first difference at ${at}: ${actual[at]} vs ${expected[at]}`);
}

describe('cpu source (torch CPU generator)', () => {
  for (const ref of rngReferences().filter((r) => r.device === 'cpu')) {
    it(`seed ${ref.seed}, [${ref.shape.join(',')}] then [${ref.next_shape.join(',')}] match torch bit for bit`, () => {
      const generator = createGenerator(ref.seed, 'cpu');
      assertBitExact(generator.randn(ref.shape), readFloat32(ref.file), 'first draw');
      assertBitExact(generator.randn(ref.next_shape), readFloat32(ref.next_file), 'second draw');
    });
  }

  // Small draws share torch's cached second Box–Muller value across calls (a block draw leaves it alone), and
  // 64-bit seeds reach the Mersenne Twister as their low 32 bits.
  for (const run of measuredRuns().filter((r) => r.device === 'cpu')) {
    const shapes = run.draws.map((d) => `[${d.shape.join(',')}]`).join(' ');
    it(`seed ${run.seed}, successive draws ${shapes} match torch bit for bit`, () => {
      const generator = createGenerator(BigInt(run.seed), 'cpu');
      run.draws.forEach((draw, i) => assertBitExact(generator.randn(draw.shape), draw.values, `draw ${i}`));
    });
  }

  it('draws nothing for an empty shape and keeps the stream where it was', () => {
    const generator = createGenerator(0, 'cpu');
    assert.equal(generator.randn([0, 4]).length, 0);
    const [ref] = rngReferences().filter((r) => r.device === 'cpu' && r.seed === 0);
    assert.ok(ref);
    assertBitExact(generator.randn(ref.shape), readFloat32(ref.file), 'draw after the empty one');
  });
});
