// k-diffusion's samplers as A1111 v1.10.1 runs them (k_diffusion/sampling.py at A1111's pin ab527a9, with the
// options of A1111's `samplers_k_diffusion` table). Each walks `sigmas` calling the denoiser, which returns the
// guided x₀ estimate; tensor arithmetic is float32 like torch's.
import type { SchedulerId } from '../schedulers/index.js';
import { lmsCoefficient } from '../schedulers/lms.js';
import { ancestralSplit, logMidpoint } from '../schedulers/sigmas.js';
import { sampleDpmAdaptive, sampleDpmFast } from './dpm-solver.js';
import { addScaled, derivative, heunStep, type Denoiser, type Sample } from './k-steps.js';
import { sampleLcm } from './lcm.js';
import { dpmpp2mSde, sampleDpmpp3mSde, sampleDpmppSde } from './sde.js';
import { restartModelCalls, sampleRestart } from './restart.js';
import type { ScheduleType } from './schedule-types.js';

const f32 = Math.fround;

/** One A1111 sampler of the k-diffusion family. */
export interface KSampler {
  readonly family: 'k-diffusion';
  /** A1111's name, as its infotext writes it. */
  readonly name: string;
  /** The schedule `Automatic` resolves to (`options['scheduler']`); undefined: `CompVisDenoiser.get_sigmas`. */
  readonly defaultSchedule?: Exclude<ScheduleType, 'Automatic'>;
  /** Runs over LCM's denoiser wrapper (`LCMCompVisDenoiser`) instead of `CompVisDenoiser`. */
  readonly lcm?: true;
  /** Asks for one more sigma and drops the next-to-last (`discard_next_to_last_sigma`). */
  readonly discardNextToLastSigma: boolean;
  /** Two denoiser calls per step: prompt-editing schedules count `2 · steps` calls (`second_order`). */
  readonly secondOrder: boolean;
  /** Draws noise after the first, so the infotext records `ENSD` (`uses_ensd`). */
  readonly usesEnsd: boolean;
  /** The denoiser calls `sample` makes over `sigmas`. */
  readonly modelCalls: (sigmas: Float64Array) => number;
  readonly sample: Sample;
}

const steps = (sigmas: Float64Array): number => sigmas.length - 1;
const level = (sigmas: Float64Array, i: number): number => sigmas[i] ?? NaN;

/** Second-order samplers call twice per step but once where the step ends at σ = 0 (an Euler step there). */
function twoPerStep(endsAt: (sigmas: Float64Array, i: number) => number) {
  return (sigmas: Float64Array): number => {
    let calls = 0;
    for (let i = 0; i < steps(sigmas); i++) calls += endsAt(sigmas, i) === 0 ? 1 : 2;
    return calls;
  };
}

const sampleEuler: Sample = async (model, x, sigmas) => {
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const d = derivative(x, await model(x, sigma), sigma);
    addScaled(x, d, f32(level(sigmas, i + 1) - sigma));
  }
  return x;
};

const sampleEulerAncestral: Sample = async (model, x, sigmas, noise) => {
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const next = level(sigmas, i + 1);
    const denoised = await model(x, sigma);
    const { down, up } = ancestralSplit(sigma, next);
    addScaled(x, derivative(x, denoised, sigma), f32(down - sigma));
    if (next > 0) addScaled(x, noise(), up);
  }
  return x;
};

const sampleHeun: Sample = async (model, x, sigmas) => {
  for (let i = 0; i < steps(sigmas); i++) await heunStep(model, x, level(sigmas, i), level(sigmas, i + 1));
  return x;
};

/** DPM-Solver-2's step from `sigma` to `target` through their log-space midpoint. */
async function dpm2Step(model: Denoiser, x: Float32Array, d: Float32Array, sigma: number, target: number): Promise<void> {
  const mid = logMidpoint(sigma, target);
  const x2 = x.slice();
  addScaled(x2, d, f32(mid - sigma));
  addScaled(x, derivative(x2, await model(x2, mid), mid), f32(target - sigma));
}

const sampleDpm2: Sample = async (model, x, sigmas) => {
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const next = level(sigmas, i + 1);
    const d = derivative(x, await model(x, sigma), sigma);
    if (next === 0) addScaled(x, d, f32(next - sigma));
    else await dpm2Step(model, x, d, sigma, next);
  }
  return x;
};

const sampleDpm2Ancestral: Sample = async (model, x, sigmas, noise) => {
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const denoised = await model(x, sigma);
    const { down, up } = ancestralSplit(sigma, level(sigmas, i + 1));
    const d = derivative(x, denoised, sigma);
    if (down === 0) addScaled(x, d, f32(down - sigma));
    else await dpm2Step(model, x, d, sigma, down);
    if (up > 0) addScaled(x, noise(), up);
  }
  return x;
};

/**
 * `sample_dpmpp_2s_ancestral` (eta 1): a DPM-Solver++(2S) step through the log-midpoint to σ_down (Euler where
 * σ_down is 0), then ancestral noise while σ_next > 0.
 */
const sampleDpmpp2sAncestral: Sample = async (model, x, sigmas, noise) => {
  const t = (sigma: number): number => f32(-f32(Math.log(sigma)));
  const sigmaOf = (time: number): number => f32(Math.exp(-time));
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const next = level(sigmas, i + 1);
    const denoised = await model(x, sigma);
    const { down, up } = ancestralSplit(sigma, next);
    if (down === 0) {
      addScaled(x, derivative(x, denoised, sigma), f32(down - sigma));
    } else {
      const h = f32(t(down) - t(sigma));
      const s = f32(t(sigma) + f32(0.5 * h));
      const midRatio = f32(sigmaOf(s) / sigmaOf(t(sigma)));
      const midFactor = f32(Math.expm1(f32(-h * 0.5)));
      const x2 = x.map((v, k) => f32(f32(midRatio * v) - f32(midFactor * (denoised[k] ?? 0))));
      const denoised2 = await model(x2, sigmaOf(s));
      const ratio = f32(sigmaOf(t(down)) / sigmaOf(t(sigma)));
      const factor = f32(Math.expm1(-h));
      for (let k = 0; k < x.length; k++) x[k] = f32(f32(ratio * (x[k] ?? 0)) - f32(factor * (denoised2[k] ?? 0)));
    }
    if (next > 0) addScaled(x, noise(), up);
  }
  return x;
};

const LMS_ORDER = 4;

const sampleLms: Sample = async (model, x, sigmas) => {
  const ds: Float32Array[] = [];
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    ds.push(derivative(x, await model(x, sigma), sigma));
    if (ds.length > LMS_ORDER) ds.shift();
    const order = Math.min(i + 1, LMS_ORDER);
    const coefficients = Array.from({ length: order }, (_, j) => lmsCoefficient(sigmas, order, i, j));
    // sum(coeff · d for coeff, d in zip(coeffs, reversed(ds))): Python's sum starts at 0, left to right.
    for (let k = 0; k < x.length; k++) {
      let sum = 0;
      coefficients.forEach((c, j) => {
        sum = f32(sum + f32(c * (ds[ds.length - 1 - j]?.[k] ?? 0)));
      });
      x[k] = (x[k] ?? 0) + sum;
    }
  }
  return x;
};

const sampleDpmpp2m: Sample = async (model, x, sigmas) => {
  const t = (sigma: number): number => f32(-Math.log(sigma));
  let previous: Float32Array | undefined;
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const next = level(sigmas, i + 1);
    const denoised = await model(x, sigma);
    const h = f32(t(next) - t(sigma));
    const ratio = f32(f32(Math.exp(-t(next))) / f32(Math.exp(-t(sigma))));
    const factor = f32(Math.expm1(-h));
    let target = denoised;
    if (previous !== undefined && next !== 0) {
      const r = f32(f32(t(sigma) - t(level(sigmas, i - 1))) / h);
      const a = f32(1 + f32(1 / f32(2 * r)));
      const b = f32(1 / f32(2 * r));
      const last = previous;
      target = denoised.map((v, k) => f32(f32(a * v) - f32(b * (last[k] ?? 0))));
    }
    for (let k = 0; k < x.length; k++) x[k] = f32(f32(ratio * (x[k] ?? 0)) - f32(factor * (target[k] ?? 0)));
    previous = denoised;
  }
  return x;
};

const oneCallPerStep = (sigmas: Float64Array): number => steps(sigmas);

const EULER: KSampler = {
  family: 'k-diffusion',
  name: 'Euler',
  discardNextToLastSigma: false,
  secondOrder: false,
  usesEnsd: false,
  modelCalls: oneCallPerStep,
  sample: sampleEuler,
};

/** The k-diffusion samplers dreamcord runs, by the sampler id that selects them (A1111's names in `name`). */
const K_SAMPLERS: Partial<Record<SchedulerId, KSampler>> = {
  euler_a: { ...EULER, name: 'Euler a', usesEnsd: true, sample: sampleEulerAncestral },
  euler: EULER,
  euler_karras: { ...EULER, defaultSchedule: 'Karras' },
  lms: { ...EULER, name: 'LMS', sample: sampleLms },
  heun: { ...EULER, name: 'Heun', secondOrder: true, modelCalls: twoPerStep((s, i) => level(s, i + 1)), sample: sampleHeun },
  dpm2: {
    family: 'k-diffusion',
    name: 'DPM2',
    defaultSchedule: 'Karras',
    discardNextToLastSigma: true,
    secondOrder: true,
    usesEnsd: false,
    modelCalls: twoPerStep((s, i) => level(s, i + 1)),
    sample: sampleDpm2,
  },
  dpm2_a: {
    family: 'k-diffusion',
    name: 'DPM2 a',
    defaultSchedule: 'Karras',
    discardNextToLastSigma: true,
    secondOrder: true,
    usesEnsd: true,
    modelCalls: twoPerStep((s, i) => ancestralSplit(level(s, i), level(s, i + 1)).down),
    sample: sampleDpm2Ancestral,
  },
  dpmpp_2m: { ...EULER, name: 'DPM++ 2M', defaultSchedule: 'Karras', sample: sampleDpmpp2m },
  dpmpp_2m_karras: { ...EULER, name: 'DPM++ 2M', defaultSchedule: 'Karras', sample: sampleDpmpp2m },
  dpmpp_2s_a: {
    family: 'k-diffusion',
    name: 'DPM++ 2S a',
    defaultSchedule: 'Karras',
    discardNextToLastSigma: false,
    secondOrder: true,
    usesEnsd: true,
    modelCalls: twoPerStep((s, i) => ancestralSplit(level(s, i), level(s, i + 1)).down),
    sample: sampleDpmpp2sAncestral,
  },
  // DPM fast makes exactly `n` calls; DPM adaptive as many as its error control asks, three per attempt: its
  // count here is an estimate (three per step), which the progress reports raise when it is passed.
  dpm_fast: { ...EULER, name: 'DPM fast', usesEnsd: true, sample: sampleDpmFast },
  dpm_adaptive: { ...EULER, name: 'DPM adaptive', usesEnsd: true, modelCalls: (s) => 3 * steps(s), sample: sampleDpmAdaptive },
  lcm: { ...EULER, name: 'LCM', lcm: true, sample: sampleLcm },
  // The SDE samplers (`brownian_noise`): their noise is the pictures' Brownian trees, not their generators.
  dpmpp_sde: {
    ...EULER,
    name: 'DPM++ SDE',
    defaultSchedule: 'Karras',
    secondOrder: true,
    modelCalls: twoPerStep((s, i) => level(s, i + 1)),
    sample: sampleDpmppSde,
  },
  dpmpp_2m_sde: { ...EULER, name: 'DPM++ 2M SDE', defaultSchedule: 'Exponential', sample: dpmpp2mSde('midpoint') },
  dpmpp_2m_sde_heun: { ...EULER, name: 'DPM++ 2M SDE Heun', defaultSchedule: 'Exponential', sample: dpmpp2mSde('heun') },
  dpmpp_3m_sde: { ...EULER, name: 'DPM++ 3M SDE', defaultSchedule: 'Exponential', discardNextToLastSigma: true, sample: sampleDpmpp3mSde },
  restart: {
    family: 'k-diffusion',
    name: 'Restart',
    defaultSchedule: 'Karras',
    discardNextToLastSigma: false,
    secondOrder: true,
    usesEnsd: false,
    modelCalls: restartModelCalls,
    sample: sampleRestart,
  },
};

/** The k-diffusion sampler of a sampler id, or undefined when it is not one of them. */
export function kSamplerFor(id: SchedulerId): KSampler | undefined {
  return K_SAMPLERS[id];
}
