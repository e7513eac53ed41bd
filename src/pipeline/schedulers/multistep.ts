/**
 * Pieces shared by the exponential-integrator solvers on the discrete VP schedule (DPM-Solver multistep and
 * singlestep, UniPC, DEIS): the sigma schedule and its α/σ/λ tables, `add_noise`, the update order, and
 * the one elementwise kernel their updates reduce to (every update is a linear combination of the sample and
 * remembered model outputs with scalar coefficients).
 */
import { choiceField, fixedField, integerField } from './config.js';
import { PREDICTION_TYPES, betaFields, checkSameLength, roundHalfEven } from './discrete.js';
import { interpAtIndex, karrasSigmas, logF32, sigmaToT } from './schedule.js';
import { karrasFields } from './sigmas.js';

/**
 * The config fields every solver class accepts, with their common diffusers defaults: the training schedule of
 * {@link betaFields}, `solver_order` 2, `prediction_type` "epsilon" and `use_karras_sigmas` false. Exponential,
 * beta and flow sigmas, dynamic shifting and thresholding are not supported: only their defaults are accepted.
 */
export function solverFields() {
  return {
    ...betaFields(),
    solver_order: integerField(2, { min: 1, max: 3 }),
    prediction_type: choiceField('epsilon', PREDICTION_TYPES),
    thresholding: fixedField(false),
    ...karrasFields(),
    use_flow_sigmas: fixedField(false),
    use_dynamic_shifting: fixedField(false),
  } as const;
}

/**
 * The `algorithm_type` and `solver_type` keys of both DPM-Solver classes, with their diffusers defaults
 * ("dpmsolver++", "midpoint"). The SDE algorithms are not supported.
 */
export function dpmSolverTypeFields() {
  return {
    /** "deis" is read as "dpmsolver++", as diffusers does for configs saved by DEISMultistepScheduler. */
    algorithm_type: choiceField('dpmsolver++', ['dpmsolver++', 'dpmsolver', 'deis']),
    /** "logrho", "bh1" and "bh2" (other solvers' types) are read as "midpoint", as in diffusers. */
    solver_type: choiceField('midpoint', ['midpoint', 'heun', 'logrho', 'bh1', 'bh2']),
  } as const;
}

/**
 * How many training timesteps have a log-SNR λ = log √ᾱ − log √(1 − ᾱ) below `lambdaMin` (float32): the
 * noisiest ones, which DPM-Solver's `lambda_min_clipped` leaves out of the schedule (diffusers' `searchsorted`).
 */
export function clippedTimesteps(alphasCumprod: Float32Array, lambdaMin: number): number {
  const f = Math.fround;
  const lambda = (a: number): number => f(f(Math.log(f(Math.sqrt(a)))) - f(Math.log(f(Math.sqrt(f(1 - a))))));
  return alphasCumprod.reduce((count, a) => (lambda(a) < lambdaMin ? count + 1 : count), 0);
}

/** Inference timesteps and their noise levels, before the final sigma is appended. */
export interface SigmaSchedule {
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
}

/** The training sigmas at `timesteps` (diffusers' `np.interp` over the training timesteps). */
export function sigmasAtTimesteps(trainSigmas: Float32Array, timesteps: Float64Array): SigmaSchedule {
  return { timesteps, sigmas: timesteps.map((t) => interpAtIndex(t, trainSigmas)) };
}

/**
 * Karras et al. (2022) sigmas between the smallest and largest training sigma (or the given bounds), and the
 * timesteps they map to: rounded half-to-even, or truncated like diffusers' int64 cast when `round` is false
 * (the cosine schedule).
 */
export function karrasSchedule(
  trainSigmas: Float32Array,
  steps: number,
  round: boolean,
  bounds: { readonly min?: number | null; readonly max?: number | null } = {},
): SigmaSchedule {
  const logSigmas = logF32(trainSigmas);
  const sigmaMin = bounds.min ?? trainSigmas[0] ?? 0;
  const sigmaMax = bounds.max ?? trainSigmas[trainSigmas.length - 1] ?? 0;
  const sigmas = karrasSigmas(sigmaMin, sigmaMax, steps);
  const timesteps = sigmas.map((sigma) => {
    const t = sigmaToT(sigma, logSigmas);
    return round ? roundHalfEven(t) : Math.trunc(t);
  });
  return { timesteps, sigmas };
}

/**
 * Signal scale α_t = 1/√(σ² + 1), noise scale σ_t = σ·α_t and log-SNR λ = log α_t − log σ_t of each sigma,
 * float32 like diffusers' `_sigma_to_alpha_sigma_t`. A final sigma of 0 gives α 1, σ 0 and λ +∞.
 */
export class NoiseLevels {
  readonly alpha: Float64Array;
  readonly sigma: Float64Array;
  readonly lambda: Float64Array;

  constructor(sigmas: Float64Array) {
    const f = Math.fround;
    this.alpha = sigmas.map((s) => f(1 / f(Math.sqrt(f(f(s * s) + 1)))));
    this.sigma = sigmas.map((s, i) => f(s * (this.alpha[i] ?? 0)));
    this.lambda = this.alpha.map((a, i) => f(f(Math.log(a)) - f(Math.log(this.sigma[i] ?? 0))));
  }

  /** α_t, σ_t and λ at position `index` of the sigmas. */
  at(index: number): { alpha: number; sigma: number; lambda: number } {
    const alpha = this.alpha[index];
    const sigma = this.sigma[index];
    const lambda = this.lambda[index];
    if (alpha === undefined || sigma === undefined || lambda === undefined) {
      throw new RangeError(`Expected a sigma index in 0–${this.alpha.length - 1}, got ${index}`);
    }
    return { alpha, sigma, lambda };
  }
}

/** `α_t·original + σ_t·noise` at position `index` of the noise levels (float32 like torch). */
export function addNoiseAtLevel(
  levels: NoiseLevels,
  index: number,
  original: Float32Array,
  noise: Float32Array,
): Float32Array {
  checkSameLength(original, noise);
  const { alpha, sigma } = levels.at(index);
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.fround(alpha * (original[i] ?? 0)) + Math.fround(sigma * (noise[i] ?? 0));
  }
  return out;
}

/**
 * Writes `Σ coefficients[k]·tensors[k]` into `out`, which may be one of the tensors: the single elementwise
 * pass of every solver update. Each element's sum starts at +0 and adds the terms in order in float64, rounded
 * to float32 once when stored.
 */
export function linearCombination(
  out: Float32Array,
  coefficients: readonly number[],
  tensors: readonly Float32Array[],
): void {
  if (coefficients.length !== tensors.length) {
    throw new RangeError(`Expected one coefficient per tensor, got ${coefficients.length} for ${tensors.length}`);
  }
  for (const tensor of tensors) checkSameLength(out, tensor);
  // Every term spelled out for the term counts the solvers use (2–5): an inner loop over the terms per element
  // is five times slower. `0 + …` keeps the generic sum's start, which turns a −0 first term into +0.
  const [a = out, b = out, c = out, d = out, e = out] = tensors;
  const [ca = 0, cb = 0, cc = 0, cd = 0, ce = 0] = coefficients;
  const n = out.length;
  switch (tensors.length) {
    case 2:
      for (let i = 0; i < n; i++) out[i] = 0 + ca * (a[i] ?? 0) + cb * (b[i] ?? 0);
      return;
    case 3:
      for (let i = 0; i < n; i++) out[i] = 0 + ca * (a[i] ?? 0) + cb * (b[i] ?? 0) + cc * (c[i] ?? 0);
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        out[i] = 0 + ca * (a[i] ?? 0) + cb * (b[i] ?? 0) + cc * (c[i] ?? 0) + cd * (d[i] ?? 0);
      }
      return;
    case 5:
      for (let i = 0; i < n; i++) {
        out[i] = 0 + ca * (a[i] ?? 0) + cb * (b[i] ?? 0) + cc * (c[i] ?? 0) + cd * (d[i] ?? 0) + ce * (e[i] ?? 0);
      }
      return;
    default:
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let k = 0; k < tensors.length; k++) sum += (coefficients[k] ?? 0) * (tensors[k]?.[i] ?? 0);
        out[i] = sum;
      }
  }
}

/**
 * The first-order DPM-Solver step (DDIM in λ) from level `s` to level `t`, as coefficients of [sample, model
 * output]: for data prediction (DPM-Solver++) x_t = (σ_t/σ_s)·x − α_t·(e^{−h} − 1)·x̂₀, for noise prediction
 * x_t = (α_t/α_s)·x − σ_t·(e^{h} − 1)·ε̂, with h = λ_t − λ_s.
 */
export function dpmSolverFirstOrder(levels: NoiseLevels, t: number, s: number, dataPrediction: boolean): [number, number] {
  const f = Math.fround;
  const to = levels.at(t);
  const from = levels.at(s);
  const h = f(to.lambda - from.lambda);
  return dataPrediction
    ? [f(to.sigma / from.sigma), -f(to.alpha * f(f(Math.exp(-h)) - 1))]
    : [f(to.alpha / from.alpha), -f(to.sigma * f(f(Math.exp(h)) - 1))];
}

/** What every DPM-Solver update from one noise level to another starts from (see {@link dpmSolverStep}). */
export interface DpmSolverStep {
  /** The step size in log-SNR, h = λ_t − λ_s. */
  readonly h: number;
  /** The first-order update's coefficients of the sample at s and of D0 (see {@link dpmSolverFirstOrder}). */
  readonly onSample: number;
  readonly onD0: number;
  /** The coefficient of D1 with the midpoint solver type. */
  readonly midpoint: number;
  /** The coefficient of D1 with the Heun solver type (and in the third-order updates). */
  readonly first: number;
  /** The coefficient of D2 in the third-order updates. */
  readonly second: number;
}

/**
 * The {@link DpmSolverStep} from position `s` to position `t` of the noise levels, float32 like diffusers. For
 * data prediction, with φ = e^{−h} − 1: midpoint −½·α_t·φ, first α_t·(φ/h + 1), second −α_t·((φ + h)/h² − ½); for
 * noise prediction, with φ = e^{h} − 1: midpoint −½·σ_t·φ, first −σ_t·(φ/h − 1), second −σ_t·((φ − h)/h² − ½).
 */
export function dpmSolverStep(levels: NoiseLevels, t: number, s: number, dataPrediction: boolean): DpmSolverStep {
  const f = Math.fround;
  const to = levels.at(t);
  const h = f(to.lambda - levels.at(s).lambda);
  const [onSample, onD0] = dpmSolverFirstOrder(levels, t, s, dataPrediction);
  const sign = dataPrediction ? 1 : -1;
  const scale = dataPrediction ? to.alpha : to.sigma;
  const phi = f(f(Math.exp(-sign * h)) - 1);
  return {
    h,
    onSample,
    onD0,
    midpoint: -0.5 * f(scale * phi),
    first: sign * f(scale * f(f(phi / h) + sign)),
    second: -f(scale * f(f(f(phi + sign * h) / f(h * h)) - 0.5)),
  };
}

/** r = (λ_a − λ_b)/h between positions `a` and `b` of the noise levels, float32 like torch. */
export function lambdaRatio(levels: NoiseLevels, a: number, b: number, h: number): number {
  const f = Math.fround;
  return f(f(levels.at(a).lambda - levels.at(b).lambda) / h);
}

/** Below this many steps, `lower_order_final` lowers the order of the last steps (stabilises few-step runs). */
export const LOWER_ORDER_FINAL_BELOW = 15;

/**
 * The order of a multistep update (DPM-Solver multistep, DEIS): at most `solverOrder`, at most one more than
 * the steps taken so far (the warm-up), 1 at the last step when `firstAtLast`, and at most 2 at the one before
 * when `secondAtSecondLast`.
 */
export function multistepOrder(options: {
  readonly solverOrder: number;
  readonly stepsTaken: number;
  readonly index: number;
  readonly steps: number;
  readonly firstAtLast: boolean;
  readonly secondAtSecondLast: boolean;
}): number {
  const { solverOrder, stepsTaken, index, steps } = options;
  if (solverOrder === 1 || stepsTaken < 1 || (index === steps - 1 && options.firstAtLast)) return 1;
  if (solverOrder === 2 || stepsTaken < 2 || (index === steps - 2 && options.secondAtSecondLast)) return 2;
  return 3;
}
