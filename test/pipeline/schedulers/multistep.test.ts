import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEISMultistepScheduler } from '../../../src/pipeline/schedulers/deis.js';
import { DPMSolverMultistepScheduler } from '../../../src/pipeline/schedulers/dpm-solver-multistep.js';
import { DPMSolverSinglestepScheduler } from '../../../src/pipeline/schedulers/dpm-solver-singlestep.js';
import type { Scheduler, SchedulerConfig, SchedulerId } from '../../../src/pipeline/schedulers/types.js';
import { linearCombination } from '../../../src/pipeline/schedulers/multistep.js';
import { UniPCMultistepScheduler } from '../../../src/pipeline/schedulers/unipc.js';
import { checkSchedulerCase, fixtureNoise, schedulerCases } from './reference-loop.js';

type SolverClass = new (config: SchedulerConfig, id: SchedulerId) => Scheduler;

const SOLVERS: readonly (readonly [SchedulerId, SolverClass])[] = [
  ['dpmpp_2m', DPMSolverMultistepScheduler],
  ['dpmpp_2m_karras', DPMSolverMultistepScheduler],
  ['dpmpp_2s', DPMSolverSinglestepScheduler],
  ['unipc', UniPCMultistepScheduler],
  ['deis', DEISMultistepScheduler],
];

describe('multistep solvers match diffusers', () => {
  for (const [id, Solver] of SOLVERS) {
    const cases = schedulerCases(id);

    it(`${id} has reference cases`, () => assert.ok(cases.length > 0));

    for (const c of cases) {
      it(`${id} (${Solver.name}): ${c.steps} steps, seed ${c.seed}`, (t) => {
        const error = checkSchedulerCase(c, new Solver(c.config, c.name));
        t.diagnostic(`relative error of the final latents: ${error.toExponential(2)}`);
      });
    }
  }
});

/** α_t = 1/√(σ² + 1) and σ_t = σ·α_t of a noise level. */
function level(sigma: number): { alpha: number; sigma: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return { alpha, sigma: sigma * alpha };
}

/**
 * Runs `scheduler` on a model whose data prediction x̂₀ (or noise prediction ε̂) is the constant `c`. Every
 * order of these exponential integrators solves that ODE exactly, whatever the step sizes: it checks that the
 * coefficients of each update add up, for the variants the reference data do not cover.
 * Returns the largest relative error against the exact solution.
 */
function constantPredictionError(scheduler: Scheduler, steps: number, dataPrediction: boolean): number {
  const c = 0.7;
  const start = [1.3, -0.4];
  scheduler.setTimesteps(steps);
  const sample = Float32Array.from(start);
  scheduler.timesteps.forEach((t, i) => {
    const { alpha, sigma } = level(scheduler.sigmas[i] ?? NaN);
    // The ε output that makes the prediction c: x̂₀ = (x − σ·ε)/α, or ε itself.
    const output = sample.map((x) => (dataPrediction ? (x - alpha * c) / sigma : c));
    scheduler.step(output, t, sample, fixtureNoise(0));
  });
  const first = level(scheduler.sigmas[0] ?? NaN);
  const last = level(scheduler.sigmas[scheduler.sigmas.length - 1] ?? NaN);
  // x/σ_t − c·α_t/σ_t (data) or x/α_t − c·σ_t/α_t (noise) is constant along the ODE.
  const exact = start.map((x) => {
    if (!dataPrediction) return last.alpha * (x / first.alpha + c * (last.sigma / last.alpha - first.sigma / first.alpha));
    if (last.sigma === 0) return c;
    return last.sigma * (x / first.sigma + c * (last.alpha / last.sigma - first.alpha / first.sigma));
  });
  return Math.max(...exact.map((e, i) => Math.abs((sample[i] ?? NaN) - e) / Math.abs(e)));
}

describe('multistep solver variants integrate a constant prediction exactly', () => {
  const base = schedulerCases('dpmpp_2m')[0]?.config ?? {};
  const variants: readonly (readonly [SolverClass, SchedulerConfig, boolean])[] = [
    [DPMSolverMultistepScheduler, { solver_order: 3 }, true],
    [DPMSolverMultistepScheduler, { solver_type: 'heun' }, true],
    [DPMSolverMultistepScheduler, { algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min' }, false],
    [DPMSolverMultistepScheduler, { algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min', solver_order: 3 }, false],
    [DPMSolverMultistepScheduler, { algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min', solver_type: 'heun' }, false],
    [DPMSolverSinglestepScheduler, { solver_order: 3 }, true],
    [DPMSolverSinglestepScheduler, { solver_order: 3, solver_type: 'heun' }, true],
    [DPMSolverSinglestepScheduler, { solver_order: 3, algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min' }, false],
    [
      DPMSolverSinglestepScheduler,
      { solver_order: 3, algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min', solver_type: 'heun' },
      false,
    ],
    [UniPCMultistepScheduler, { solver_order: 3 }, true],
    [UniPCMultistepScheduler, { solver_type: 'bh1' }, true],
    [UniPCMultistepScheduler, { predict_x0: false, final_sigmas_type: 'sigma_min' }, false],
    [UniPCMultistepScheduler, { predict_x0: false, solver_order: 3, final_sigmas_type: 'sigma_min' }, false],
    [DEISMultistepScheduler, { solver_order: 3 }, false],
  ];
  for (const [Solver, extra, dataPrediction] of variants) {
    for (const steps of [7, 20]) {
      it(`${Solver.name} ${JSON.stringify(extra)}, ${steps} steps`, () => {
        const error = constantPredictionError(new Solver({ ...base, ...extra }, 'dpmpp_2m'), steps, dataPrediction);
        assert.ok(error < 1e-5, `relative error ${error}`);
      });
    }
  }
});

describe('multistep solvers for img2img', () => {
  for (const [id, Solver] of SOLVERS) {
    it(`${id} adds noise at the sigma of the begin index`, () => {
      const scheduler = new Solver(schedulerCases(id)[0]?.config ?? {}, id);
      scheduler.setTimesteps(10);
      const original = Float32Array.of(0.5, -2);
      const noise = Float32Array.of(1, 0.25);
      const expected = (index: number): number[] => {
        const { alpha, sigma } = level(scheduler.sigmas[index] ?? NaN);
        return [0, 1].map((i) => alpha * (original[i] ?? NaN) + sigma * (noise[i] ?? NaN));
      };
      const near = (actual: Float32Array, wanted: number[]): boolean =>
        wanted.every((w, i) => Math.abs((actual[i] ?? NaN) - w) <= 1e-6 * Math.max(1, Math.abs(w)));
      // Without a begin index the timestep picks the sigma; with one, the begin index does.
      assert.ok(near(scheduler.addNoise(original, noise, scheduler.timesteps[3] ?? NaN), expected(3)));
      scheduler.setBeginIndex(6);
      assert.ok(near(scheduler.addNoise(original, noise, scheduler.timesteps[3] ?? NaN), expected(6)));
    });
  }

  it('step from the begin index, not from the timestep they are given', () => {
    const config = schedulerCases('dpmpp_2m')[0]?.config ?? {};
    const [byTimestep, byIndex] = [0, 1].map(() => new DPMSolverMultistepScheduler(config, 'dpmpp_2m'));
    assert.ok(byTimestep && byIndex);
    byTimestep.setTimesteps(20);
    byIndex.setTimesteps(20);
    byIndex.setBeginIndex(15);
    const [a, b] = [Float32Array.of(0.3), Float32Array.of(0.3)];
    byTimestep.step(Float32Array.of(0.1), byTimestep.timesteps[15] ?? NaN, a, fixtureNoise(0));
    byIndex.step(Float32Array.of(0.1), byIndex.timesteps[0] ?? NaN, b, fixtureNoise(0));
    assert.deepEqual(b, a);
  });
});

describe('multistep solver configs', () => {
  it('reject combinations diffusers cannot sample', () => {
    assert.throws(
      () => new DPMSolverMultistepScheduler({ algorithm_type: 'dpmsolver' }, 'dpmpp_2m'),
      /`final_sigmas_type` "sigma_min" for `algorithm_type` "dpmsolver"/,
    );
    assert.throws(
      () => new DPMSolverSinglestepScheduler({ algorithm_type: 'dpmsolver' }, 'dpmpp_2s'),
      /`final_sigmas_type` "sigma_min" for `algorithm_type` "dpmsolver"/,
    );
    assert.throws(
      () => new UniPCMultistepScheduler({ predict_x0: false }, 'unipc'),
      /`final_sigmas_type` "sigma_min" for `predict_x0` false/,
    );
  });

  it('reject options they do not implement', () => {
    assert.throws(
      () => new DPMSolverMultistepScheduler({ algorithm_type: 'sde-dpmsolver++' }, 'dpmpp_2m'),
      /`algorithm_type` of DPMSolverMultistepScheduler to be one of/,
    );
    assert.throws(() => new UniPCMultistepScheduler({ solver_order: 4 }, 'unipc'), /`solver_order` of UniPCMultistepScheduler/);
    assert.throws(
      () => new DEISMultistepScheduler({ use_exponential_sigmas: true }, 'deis'),
      /`use_exponential_sigmas` of DEISMultistepScheduler to be false/,
    );
    assert.throws(
      () => new UniPCMultistepScheduler({ disable_corrector: [1.5] }, 'unipc'),
      /`disable_corrector` of UniPCMultistepScheduler to be a list of step indices/,
    );
  });

  it('read other solvers’ algorithm and solver types as diffusers does', () => {
    const c = schedulerCases('dpmpp_2m').find((x) => x.steps === 5 && x.seed === 0);
    assert.ok(c);
    const error = checkSchedulerCase(
      c,
      new DPMSolverMultistepScheduler({ ...c.config, algorithm_type: 'deis', solver_type: 'bh2' }, 'dpmpp_2m'),
    );
    assert.ok(error <= 1e-5);
  });
});

describe('linearCombination', () => {
  const values = [0.1, -0, 3.5e-8, -2.25, 1e30, -7.75];
  const tensors = Array.from({ length: 6 }, (_, k) => Float32Array.from(values, (v, i) => v * (k + 1) + i * 0.01));
  const coefficients = [0.7, -1.3, 0.01, 2.5e-3, -0.4, 1.1];

  /** The definition: the float64 sum from +0 over the terms in order, rounded to float32 once. */
  function expected(count: number): Float32Array {
    return Float32Array.from(values, (_, i) => {
      let sum = 0;
      for (let k = 0; k < count; k++) sum += (coefficients[k] ?? 0) * (tensors[k]?.[i] ?? 0);
      return sum;
    });
  }

  for (let count = 1; count <= 6; count++) {
    it(`writes the float32 sum of ${count} term${count > 1 ? 's' : ''}, bit for bit, in place`, () => {
      const terms = tensors.slice(0, count).map((t) => Float32Array.from(t));
      const out = terms[0] ?? new Float32Array(0);
      linearCombination(out, coefficients.slice(0, count), terms);
      assert.deepEqual(new Uint32Array(out.buffer), new Uint32Array(expected(count).buffer));
    });
  }

  it('turns a −0 first term into +0, as a sum from +0 does', () => {
    const out = new Float32Array(1);
    linearCombination(out, [1, 1], [Float32Array.of(-0), Float32Array.of(-0)]);
    assert.ok(Object.is(out[0], 0));
  });
});
