// A1111's "Schedule type" dropdown (modules/sd_schedulers.py, v1.10.1) over k-diffusion's schedules
// (k_diffusion/sampling.py at A1111's pin): each turns a step count into the sigmas a k-diffusion sampler walks,
// the last one 0 (KL Optimal ends at σ_min, as in A1111).
import { linspaceF64 } from '../schedulers/schedule.js';
import { betaQuantile } from './beta-distribution.js';
import { linspaceF32, withZero, type NoiseLevels } from './compvis.js';

const f32 = Math.fround;

/** The schedule types dreamcord computes, by A1111's label (what the infotext's `Schedule type` holds). */
export const SCHEDULE_TYPES = [
  'Automatic',
  'Uniform',
  'Karras',
  'Exponential',
  'Polyexponential',
  'SGM Uniform',
  'KL Optimal',
  'Align Your Steps',
  'Simple',
  'Normal',
  'DDIM',
  'Beta',
] as const;

export type ScheduleType = (typeof SCHEDULE_TYPES)[number];

/** A1111's names for the same schedules (its `name` column and aliases), accepted when read. */
const ALIASES: Readonly<Record<string, ScheduleType>> = {
  automatic: 'Automatic',
  uniform: 'Uniform',
  karras: 'Karras',
  exponential: 'Exponential',
  polyexponential: 'Polyexponential',
  sgm_uniform: 'SGM Uniform',
  sgmuniform: 'SGM Uniform',
  kl_optimal: 'KL Optimal',
  align_your_steps: 'Align Your Steps',
  simple: 'Simple',
  normal: 'Normal',
  ddim: 'DDIM',
  beta: 'Beta',
};

/**
 * The schedule type a user typed (A1111's label or name, any case).
 * @throws {RangeError} naming the valid ones.
 */
export function parseScheduleType(name: string): ScheduleType {
  const key = name.trim().toLowerCase();
  const found = SCHEDULE_TYPES.find((type) => type.toLowerCase() === key) ?? ALIASES[key.replace(/\s+/g, '_')];
  if (found !== undefined) return found;
  throw new RangeError(`Unknown schedule type ${JSON.stringify(name)}. Valid: ${SCHEDULE_TYPES.join(', ')}.`);
}

/** A1111's `beta_dist_alpha` and `beta_dist_beta` defaults, the shape of its Beta schedule (not a request option). */
export const BETA_SCHEDULE_SHAPE = { alpha: 0.6, beta: 0.6 } as const;

/** The bounds A1111 passes to a schedule: the model's smallest and largest training σ. */
interface Bounds {
  readonly sigmaMin: number;
  readonly sigmaMax: number;
}

type ScheduleFunction = (n: number, bounds: Bounds, model: NoiseLevels) => Float64Array;

/** Align Your Steps' published SD 1.5 levels (A1111 uses them for every non-XL model). */
const AYS_SD15 = [14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029];

const SCHEDULES: { readonly [T in Exclude<ScheduleType, 'Automatic'>]: ScheduleFunction } = {
  Uniform: (n, _bounds, model) => model.uniform(n),
  Karras: (n, { sigmaMin, sigmaMax }) => karrasSigmas(n, sigmaMin, sigmaMax),
  // get_sigmas_exponential: exp(linspace(log σmax, log σmin, n))
  Exponential: (n, { sigmaMin, sigmaMax }) =>
    withZero(linspaceF32(Math.log(sigmaMax), Math.log(sigmaMin), n).map((v) => f32(Math.exp(v)))),
  // get_sigmas_polyexponential with rho = 1: exp(ramp · (log σmax − log σmin) + log σmin)
  Polyexponential: (n, { sigmaMin, sigmaMax }) => {
    const span = Math.log(sigmaMax) - Math.log(sigmaMin);
    return withZero(linspaceF32(1, 0, n).map((r) => f32(Math.exp(f32(f32(r * span) + Math.log(sigmaMin))))));
  },
  'SGM Uniform': (n, bounds, model) => withZero(levelsOverTimesteps(n + 1, bounds, model).slice(0, n)),
  'KL Optimal': (n, { sigmaMin, sigmaMax }) => {
    const alphaMin = f32(Math.atan(sigmaMin));
    const alphaMax = f32(Math.atan(sigmaMax));
    return Float64Array.from({ length: n + 1 }, (_, i) => {
      const r = f32(i / n);
      return f32(Math.tan(f32(f32(r * alphaMin) + f32(f32(1 - r) * alphaMax))));
    });
  },
  'Align Your Steps': (n) => {
    if (n === AYS_SD15.length) return withZero(AYS_SD15);
    // loglinear_interp: interpolate log σ (ascending) at n evenly spaced points, in float64 like numpy.
    const xs = linspaceF64(0, 1, AYS_SD15.length);
    const ys = [...AYS_SD15].reverse().map(Math.log);
    const levels = Array.from(linspaceF64(0, 1, n), (x) => Math.exp(interpolate(x, xs, ys))).reverse();
    return withZero(levels);
  },
  Simple: (n, _bounds, model) => {
    const stride = model.sigmas.length / n;
    return withZero(Array.from({ length: n }, (_, x) => model.sigmas[model.sigmas.length - 1 - Math.trunc(x * stride)] ?? NaN));
  },
  Normal: (n, bounds, model) => withZero(levelsOverTimesteps(n, bounds, model)),
  DDIM: (n, _bounds, model) => {
    const stride = Math.max(Math.floor(model.sigmas.length / n), 1);
    const levels: number[] = [];
    for (let x = 1; x < model.sigmas.length; x += stride) levels.push(model.sigmas[x] ?? NaN);
    return withZero(levels.reverse());
  },
  // beta_scheduler: σ_min + ppf(1 − linspace(0, 1, n)) · (σ_max − σ_min), in float64 like numpy and scipy.
  Beta: (n, { sigmaMin, sigmaMax }) =>
    withZero(Array.from(linspaceF64(0, 1, n), (v) => sigmaMin + betaQuantile(1 - v, BETA_SCHEDULE_SHAPE.alpha, BETA_SCHEDULE_SHAPE.beta) * (sigmaMax - sigmaMin))),
};

/** k-diffusion's `get_sigmas_karras(n, σmin, σmax, rho=7)` in float32, with the final 0. */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number): Float64Array {
  const minInv = sigmaMin ** (1 / 7);
  const maxInv = sigmaMax ** (1 / 7);
  return withZero(linspaceF32(0, 1, n).map((r) => f32(f32(maxInv + f32(r * f32(minInv - maxInv))) ** 7)));
}

/** The σ of `count` timesteps evenly spaced from σmax's to σmin's (`normal_scheduler`, `sgm_uniform`). */
function levelsOverTimesteps(count: number, { sigmaMin, sigmaMax }: Bounds, model: NoiseLevels): number[] {
  const start = model.sigmaToT(sigmaMax);
  const end = model.sigmaToT(sigmaMin);
  return Array.from(linspaceF32(start, end, count), (t) => model.tToSigma(t));
}

/** `np.interp(x, xs, ys)` for ascending `xs`. */
function interpolate(x: number, xs: Float64Array, ys: readonly number[]): number {
  let j = 0;
  while (j < xs.length - 2 && x > (xs[j + 1] ?? Infinity)) j++;
  const x0 = xs[j] ?? 0;
  const x1 = xs[j + 1] ?? 1;
  const y0 = ys[j] ?? NaN;
  const y1 = ys[j + 1] ?? NaN;
  return x <= x0 ? y0 : x >= x1 ? y1 : y0 + ((x - x0) * (y1 - y0)) / (x1 - x0);
}

/**
 * The sigmas of `type` for `n` levels (k-diffusion's `get_sigmas_*` / A1111's scheduler functions) between the
 * model's training bounds. `Automatic` here means no schedule of its own: `CompVisDenoiser.get_sigmas(n)`.
 */
export function scheduleSigmas(type: ScheduleType, n: number, model: NoiseLevels): Float64Array {
  if (type === 'Automatic') return model.uniform(n);
  return SCHEDULES[type](n, { sigmaMin: model.sigmaMin, sigmaMax: model.sigmaMax }, model);
}
