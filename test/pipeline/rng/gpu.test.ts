import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createGenerator } from '../../../src/pipeline/rng/index.js';
import { measuredRuns, pick, readFloat32, rngReferences, worstError } from './references.js';

/**
 * CUDA computes Box–Muller with the hardware's approximate log and sine, so an emulation agrees to a few float32
 * ulps: at most 2e-6 relative (absolute below 1). The worst error measured on the references was 1.28e-6.
 */
const TOLERANCE = 2e-6;

describe('gpu source (torch CUDA generator, emulated)', () => {
  let worst = 0;
  const check = (actual: Float32Array, expected: ArrayLike<number>, what: string): void => {
    const error = worstError(actual, expected);
    worst = Math.max(worst, error);
    assert.ok(error <= TOLERANCE, `${what}: error ${error} exceeds ${TOLERANCE}`);
  };

  for (const ref of rngReferences().filter((r) => r.device === 'cuda')) {
    it(`seed ${ref.seed}, [${ref.shape.join(',')}] then [${ref.next_shape.join(',')}] match torch`, () => {
      const generator = createGenerator(ref.seed, 'gpu');
      check(generator.randn(ref.shape), readFloat32(ref.file), 'first draw');
      check(generator.randn(ref.next_shape), readFloat32(ref.next_file), 'second draw');
    });
  }

  // Draws larger than one pass of the H100's threads (4 values per thread, several passes), the Philox offset
  // they leave behind, and 64-bit seeds, which key Philox with both halves.
  for (const run of measuredRuns().filter((r) => r.device === 'cuda')) {
    const shapes = run.draws.map((d) => `[${d.shape.join(',')}]`).join(' ');
    it(`seed ${run.seed}, successive draws ${shapes} match torch`, () => {
      const generator = createGenerator(BigInt(run.seed), 'gpu');
      run.draws.forEach((draw, i) => check(pick(generator.randn(draw.shape), draw.indices), draw.values, `draw ${i}`));
    });
  }

  it('draws nothing for an empty shape and leaves the Philox offset where it was', () => {
    const generator = createGenerator(0, 'gpu');
    assert.equal(generator.randn([4, 0]).length, 0);
    const [ref] = rngReferences().filter((r) => r.device === 'cuda' && r.seed === 0);
    assert.ok(ref);
    check(generator.randn(ref.shape), readFloat32(ref.file), 'draw after the empty one');
  });

  it('reports the worst error measured', (t) => {
    assert.ok(worst > 0 && worst <= TOLERANCE);
    t.diagnostic(`worst gpu error (relative, absolute below 1): ${worst.toExponential(3)}`);
  });
});
