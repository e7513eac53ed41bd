import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyCombination,
  dataPrediction,
  findTimestepIndex,
  noisePrediction,
  roundHalfEven,
  solverTimesteps,
  spacedTimesteps,
  TIMESTEP_SPACINGS,
  type TimestepSpacing,
} from '../../../src/pipeline/schedulers/discrete.js';

// Expected values computed with numpy 2.4 by the expressions of diffusers' set_timesteps (T = 1000, offset 1).
describe('roundHalfEven', () => {
  it('rounds halves to the even neighbour like np.round', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 166.5, 428.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 166, 428, -0, -2, 2, 3]);
  });
});

/** One test per spacing and step count: `timesteps(spacing, 1000, steps, 1)` gives the expected timesteps. */
function itSpaces(
  timesteps: (spacing: TimestepSpacing, trainSteps: number, steps: number, offset: number) => Float64Array,
  cases: { readonly [S in TimestepSpacing]: { readonly [steps: number]: readonly number[] } },
): void {
  for (const spacing of TIMESTEP_SPACINGS) {
    for (const [steps, expected] of Object.entries(cases[spacing])) {
      it(`${spacing}, ${steps} steps`, () => {
        assert.deepEqual(Array.from(timesteps(spacing, 1000, Number(steps), 1)), expected);
      });
    }
  }
}

describe('spacedTimesteps (DDIM, DDPM, PNDM)', () => {
  itSpaces(spacedTimesteps, {
    linspace: { 3: [999, 500, 0], 7: [999, 832, 666, 500, 333, 166, 0] },
    leading: { 3: [667, 334, 1], 7: [853, 711, 569, 427, 285, 143, 1] },
    trailing: { 3: [999, 666, 332], 7: [999, 856, 713, 570, 428, 285, 142] },
  });
});

describe('solverTimesteps (DPM-Solver, UniPC, DEIS)', () => {
  itSpaces(solverTimesteps, {
    linspace: { 3: [999, 666, 333], 7: [999, 856, 714, 571, 428, 285, 143] },
    leading: { 3: [751, 501, 251], 7: [876, 751, 626, 501, 376, 251, 126] },
    trailing: { 3: [999, 666, 332], 7: [999, 856, 713, 570, 428, 285, 142] },
  });

  it('stops below the clipped last timestep', () => {
    assert.deepEqual(Array.from(solverTimesteps('linspace', 1000, 4, 0, 900)), [899, 674, 450, 225]);
  });
});

describe('findTimestepIndex', () => {
  const timesteps = Float64Array.of(801, 601, 601, 401);
  it('finds a timestep, the second occurrence of a repeated one, or −1', () => {
    assert.equal(findTimestepIndex(timesteps, 801), 0);
    assert.equal(findTimestepIndex(timesteps, 601), 2);
    assert.equal(findTimestepIndex(timesteps, 5), -1);
  });
});

describe('prediction conversions', () => {
  // x = α·x₀ + σ·ε and v = α·ε − σ·x₀ for a point with α² + σ² = 1.
  const alpha = 0.6;
  const sigma = 0.8;
  const [x0, eps] = [0.25, -1.5];
  const x = alpha * x0 + sigma * eps;
  const outputs = { epsilon: eps, v_prediction: alpha * eps - sigma * x0, sample: x0 } as const;
  for (const [type, output] of Object.entries(outputs)) {
    it(`recovers x₀ and ε from ${type}`, () => {
      const kind = type as keyof typeof outputs;
      const out = new Float32Array(1);
      applyCombination(out, dataPrediction(kind, alpha, sigma), Float32Array.of(x), Float32Array.of(output));
      assert.ok(Math.abs((out[0] ?? NaN) - x0) < 1e-6, `x₀: ${out[0]}`);
      applyCombination(out, noisePrediction(kind, alpha, sigma), Float32Array.of(x), Float32Array.of(output));
      assert.ok(Math.abs((out[0] ?? NaN) - eps) < 1e-6, `ε: ${out[0]}`);
    });
  }
});
