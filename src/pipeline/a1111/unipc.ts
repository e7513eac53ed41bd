// A1111's "UniPC" (modules/sd_samplers_timesteps_impl.py `unipc` over modules/models/diffusion/uni_pc/uni_pc.py,
// v1.10.1) with A1111's settings: the discrete VP noise schedule of the model's ᾱ, data prediction, variant bh1,
// time-uniform steps, order 3, lower order at the end, multistep. It takes as many steps as A1111's timesteps
// table has entries (txt2img from t = 1, img2img from the table's last entry + 1/1000) and makes one model call
// per step. Tensor arithmetic is float32 like torch's.
import { linspaceF32 } from './compvis.js';
import type { EpsModel } from './timestep-samplers.js';

const f32 = Math.fround;

/** A1111's `uni_pc_order`. */
export const UNIPC_ORDER = 3;

/** `NoiseScheduleVP('discrete', alphas_cumprod)`: log α(t) interpolated over t = 1/N … 1 (float32). */
class DiscreteSchedule {
  readonly #times: Float64Array;
  readonly #logAlphas: Float32Array;

  constructor(alphasCumprod: Float32Array) {
    this.#times = linspaceF32(0, 1, alphasCumprod.length + 1).slice(1);
    this.#logAlphas = alphasCumprod.map((a) => f32(0.5 * f32(Math.log(a))));
  }

  /** `marginal_log_mean_coeff` by `interpolate_fn`: linear between the keypoints around t (beyond them, the outer two). */
  logAlpha(t: number): number {
    const times = this.#times;
    let below = 0;
    while (below < times.length && (times[below] ?? Infinity) < t) below++;
    const start = Math.min(Math.max(below - 1, 0), times.length - 2);
    const x0 = times[start] ?? NaN;
    const x1 = times[start + 1] ?? NaN;
    const y0 = this.#logAlphas[start] ?? NaN;
    const y1 = this.#logAlphas[start + 1] ?? NaN;
    return f32(y0 + f32(f32(f32(t - x0) * f32(y1 - y0)) / f32(x1 - x0)));
  }

  alpha(t: number): number {
    return f32(Math.exp(this.logAlpha(t)));
  }

  std(t: number): number {
    return f32(Math.sqrt(f32(1 - f32(Math.exp(f32(2 * this.logAlpha(t)))))));
  }

  /** `marginal_lambda`: log α − log σ. */
  lambda(t: number): number {
    const logAlpha = this.logAlpha(t);
    return f32(logAlpha - f32(0.5 * f32(Math.log(f32(1 - f32(Math.exp(f32(2 * logAlpha))))))));
  }
}

/** `torch.linalg.solve` of a small system (Gaussian elimination with partial pivoting), rounded to float32. */
function solve(matrix: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row.slice(0, n), rhs[i] ?? NaN]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row]?.[col] ?? 0) > Math.abs(a[pivot]?.[col] ?? 0)) pivot = row;
    [a[col], a[pivot]] = [a[pivot] ?? [], a[col] ?? []];
    for (let row = col + 1; row < n; row++) {
      const factor = (a[row]?.[col] ?? 0) / (a[col]?.[col] ?? NaN);
      for (let k = col; k <= n; k++) (a[row] as number[])[k] = (a[row]?.[k] ?? 0) - factor * (a[col]?.[k] ?? 0);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = a[row]?.[n] ?? NaN;
    for (let k = row + 1; k < n; k++) sum -= (a[row]?.[k] ?? 0) * (x[k] ?? 0);
    x[row] = sum / (a[row]?.[row] ?? NaN);
  }
  return x.map(f32);
}

/** `Σ_k ρ_k · D_k` (torch's einsum 'k,bkchw->bchw'), or undefined without terms. */
function weightedSum(rhos: readonly number[], terms: readonly Float32Array[]): Float32Array | undefined {
  const [first] = terms;
  if (!first) return undefined;
  return first.map((_, i) => terms.reduce((sum, term, k) => f32(sum + f32((rhos[k] ?? 0) * (term[i] ?? 0))), 0));
}

/**
 * UniPC with A1111's settings over `timesteps` (the A1111 table, or its img2img part). `model` is A1111's guided
 * ε at a fractional UNet timestep; UniPC works on its data prediction `(x − σ_t·ε) / α_t`.
 */
export async function sampleUniPC(model: EpsModel, start: Float32Array, timesteps: readonly number[], img2img: boolean, alphasCumprod: Float32Array): Promise<Float32Array> {
  const schedule = new DiscreteSchedule(alphasCumprod);
  const total = alphasCumprod.length;
  const steps = timesteps.length;
  // t_T: 1, or for img2img the table's last timestep / 1000 + 1/1000 (A1111: "likely off by a bit"); t_0 = 1/N.
  const tStart = img2img ? f32(f32((timesteps[steps - 1] ?? NaN) / 1000) + 1 / 1000) : 1;
  const times = linspaceF32(tStart, 1 / total, steps + 1);

  /** `data_prediction_fn` of A1111's model at continuous time t (UNet timestep `(t − 1/N)·1000`). */
  const dataPrediction = async (x: Float32Array, t: number): Promise<Float32Array> => {
    const { eps } = await model(x, f32(f32(t - f32(1 / total)) * 1000));
    const alpha = schedule.alpha(t);
    const sigma = schedule.std(t);
    return x.map((v, i) => f32(f32(v - f32(sigma * (eps[i] ?? 0))) / alpha));
  };

  /** `multistep_uni_pc_bh_update` (bh1, data prediction): the predictor, then the corrector where asked. */
  const update = async (x: Float32Array, models: readonly Float32Array[], ts: readonly number[], t: number, order: number, useCorrector: boolean) => {
    const tPrev = ts[ts.length - 1] ?? NaN;
    const modelPrev = models[models.length - 1] ?? new Float32Array();
    const lambdaPrev = schedule.lambda(tPrev);
    const h = f32(schedule.lambda(t) - lambdaPrev);
    const sigmaRatio = f32(schedule.std(t) / schedule.std(tPrev));
    const alphaT = f32(Math.exp(schedule.logAlpha(t)));
    const rks: number[] = [];
    const d1s: Float32Array[] = [];
    for (let i = 1; i < order; i++) {
      const rk = f32(f32(schedule.lambda(ts[ts.length - 1 - i] ?? NaN) - lambdaPrev) / h);
      const modelI = models[models.length - 1 - i] ?? new Float32Array();
      rks.push(rk);
      d1s.push(modelI.map((v, j) => f32(f32(v - (modelPrev[j] ?? 0)) / rk)));
    }
    rks.push(1);
    const hh = f32(-h);
    const hPhi1 = f32(Math.expm1(hh));
    let hPhiK = f32(f32(hPhi1 / hh) - 1);
    let factorial = 1;
    const bh = hh; // variant bh1: B(h) = h
    const r: number[][] = [];
    const b: number[] = [];
    for (let i = 1; i <= order; i++) {
      r.push(rks.map((rk) => f32(rk ** (i - 1))));
      b.push(f32(f32(hPhiK * factorial) / bh));
      factorial *= i + 1;
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
    }
    const base = x.map((v, j) => f32(f32(sigmaRatio * v) - f32(f32(alphaT * hPhi1) * (modelPrev[j] ?? 0))));
    const scale = f32(alphaT * bh);
    let next = base;
    if (d1s.length > 0) {
      const rhosP = order === 2 ? [0.5] : solve(r.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
      const predicted = weightedSum(rhosP, d1s) ?? new Float32Array(x.length);
      next = base.map((v, j) => f32(v - f32(scale * (predicted[j] ?? 0))));
    }
    if (!useCorrector) return { x: next, model: undefined };
    const modelT = await dataPrediction(next, t);
    const rhosC = order === 1 ? [0.5] : solve(r, b);
    const corrected = weightedSum(rhosC.slice(0, -1), d1s);
    const last = rhosC[rhosC.length - 1] ?? NaN;
    const corrector = modelT.map((v, j) => f32((corrected?.[j] ?? 0) + f32(last * f32(v - (modelPrev[j] ?? 0)))));
    return { x: base.map((v, j) => f32(v - f32(scale * (corrector[j] ?? 0)))), model: modelT };
  };

  let x = start;
  const models = [await dataPrediction(x, times[0] ?? NaN)];
  const ts = [times[0] ?? NaN];
  for (let initOrder = 1; initOrder < UNIPC_ORDER; initOrder++) {
    const t = times[initOrder] ?? NaN;
    const stepped = await update(x, models, ts, t, initOrder, true);
    x = stepped.x;
    models.push(stepped.model ?? (await dataPrediction(x, t)));
    ts.push(t);
  }
  for (let step = UNIPC_ORDER; step <= steps; step++) {
    const t = times[step] ?? NaN;
    const stepped = await update(x, models, ts, t, Math.min(UNIPC_ORDER, steps + 1 - step), step < steps);
    x = stepped.x;
    models.shift();
    ts.shift();
    ts.push(t);
    // The last step needs no model value after it.
    if (step < steps) models.push(stepped.model ?? (await dataPrediction(x, t)));
  }
  return x;
}
