// k-diffusion's `DPMSolver` (k_diffusion/sampling.py at A1111's pin ab527a9) behind A1111's "DPM fast"
// (`sample_dpm_fast`) and "DPM adaptive" (`sample_dpm_adaptive`). They integrate in t = −log σ between two
// bounds instead of walking a schedule. A1111 passes both its `eta_ancestral` (1.0), so each step ends with
// ancestral noise from the image's generator (`default_noise_sampler` → `randn_like`, which A1111 replaces).
// Scalars are 0-d float32 tensors in torch, so every scalar and tensor operation rounds to float32 here.
import { linspaceF32 } from './compvis.js';
import type { Denoiser, NoiseSource, Sample } from './k-steps.js';

const f32 = Math.fround;

/** A1111's `eta_ancestral` default, which it passes to every k-diffusion sampler that takes `eta`. */
const ETA = 1;

const tOf = (sigma: number): number => f32(-f32(Math.log(sigma)));
const sigmaOf = (t: number): number => f32(Math.exp(-t));

/** The ε predictions of one step, by k-diffusion's cache key: a step reuses a prediction at the same point. */
type EpsCache = Map<'eps' | 'eps_r1' | 'eps_r2', Float32Array>;

/** `DPMSolver.eps`: `(x − denoised) / σ(t)`, cached under `key`. */
async function eps(model: Denoiser, cache: EpsCache, key: 'eps' | 'eps_r1' | 'eps_r2', x: Float32Array, t: number): Promise<Float32Array> {
  const known = cache.get(key);
  if (known) return known;
  const sigma = sigmaOf(t);
  const denoised = await model(x, sigma);
  const out = x.map((v, i) => f32(f32(v - (denoised[i] ?? 0)) / sigma));
  cache.set(key, out);
  return out;
}

/** `x − a·e` (new array). */
const minusScaled = (x: Float32Array, a: number, e: Float32Array): Float32Array => x.map((v, i) => f32(v - f32(a * (e[i] ?? 0))));

/** `x − a·(e2 − e1)` (new array). */
const minusScaledDifference = (x: Float32Array, a: number, e2: Float32Array, e1: Float32Array): Float32Array =>
  x.map((v, i) => f32(v - f32(a * f32((e2[i] ?? 0) - (e1[i] ?? 0)))));

async function solver1Step(model: Denoiser, x: Float32Array, t: number, tNext: number, cache: EpsCache): Promise<Float32Array> {
  const h = f32(tNext - t);
  const e = await eps(model, cache, 'eps', x, t);
  return minusScaled(x, f32(sigmaOf(tNext) * f32(Math.expm1(h))), e);
}

async function solver2Step(model: Denoiser, x: Float32Array, t: number, tNext: number, r1: number, cache: EpsCache): Promise<Float32Array> {
  const h = f32(tNext - t);
  const e = await eps(model, cache, 'eps', x, t);
  const s1 = f32(t + f32(f32(r1) * h));
  const u1 = minusScaled(x, f32(sigmaOf(s1) * f32(Math.expm1(f32(f32(r1) * h)))), e);
  const eR1 = await eps(model, cache, 'eps_r1', u1, s1);
  const first = minusScaled(x, f32(sigmaOf(tNext) * f32(Math.expm1(h))), e);
  return minusScaledDifference(first, f32(f32(sigmaOf(tNext) / f32(2 * r1)) * f32(Math.expm1(h))), eR1, e);
}

async function solver3Step(model: Denoiser, x: Float32Array, t: number, tNext: number, cache: EpsCache): Promise<Float32Array> {
  const r1 = 1 / 3;
  const r2 = 2 / 3;
  const h = f32(tNext - t);
  const e = await eps(model, cache, 'eps', x, t);
  const s1 = f32(t + f32(f32(r1) * h));
  const s2 = f32(t + f32(f32(r2) * h));
  const u1 = minusScaled(x, f32(sigmaOf(s1) * f32(Math.expm1(f32(f32(r1) * h)))), e);
  const eR1 = await eps(model, cache, 'eps_r1', u1, s1);
  const r2h = f32(f32(r2) * h);
  const u2First = minusScaled(x, f32(sigmaOf(s2) * f32(Math.expm1(r2h))), e);
  const u2 = minusScaledDifference(u2First, f32(f32(sigmaOf(s2) * (r2 / r1)) * f32(f32(f32(Math.expm1(r2h)) / r2h) - 1)), eR1, e);
  const eR2 = await eps(model, cache, 'eps_r2', u2, s2);
  const first = minusScaled(x, f32(sigmaOf(tNext) * f32(Math.expm1(h))), e);
  return minusScaledDifference(first, f32(f32(sigmaOf(tNext) / f32(r2)) * f32(f32(f32(Math.expm1(h)) / h) - 1)), eR2, e);
}

/**
 * `get_ancestral_step(σ(t), σ(t_next), eta)` in t: where the deterministic step ends (`t_next_`, at most `tEnd`)
 * and the noise to add there, `√(σ(t_next)² − σ(t_next_)²)`.
 */
function ancestralTarget(t: number, tNext: number, tEnd: number): { readonly tDown: number; readonly up: number } {
  const from = sigmaOf(t);
  const to = sigmaOf(tNext);
  const fromSq = f32(from * from);
  const toSq = f32(to * to);
  const sigmaUp = Math.min(to, f32(ETA * f32(Math.sqrt(f32(f32(toSq * f32(fromSq - toSq)) / fromSq)))));
  const sigmaDown = f32(Math.sqrt(f32(toSq - f32(sigmaUp * sigmaUp))));
  const tDown = Math.min(tEnd, tOf(sigmaDown));
  const downSigma = sigmaOf(tDown);
  return { tDown, up: f32(Math.sqrt(f32(toSq - f32(downSigma * downSigma)))) };
}

/** `x + up · noise` (new array). */
function addNoise(x: Float32Array, up: number, noise: NoiseSource): Float32Array {
  const drawn = noise();
  return x.map((v, i) => f32(v + f32(up * (drawn[i] ?? 0))));
}

/** The order of each of DPM fast's steps for `nfe` denoiser calls: third order but the last one or two. */
export function dpmFastOrders(nfe: number): number[] {
  const m = Math.floor(nfe / 3) + 1;
  return nfe % 3 === 0 ? [...Array<number>(m - 2).fill(3), 2, 1] : [...Array<number>(m - 1).fill(3), nfe % 3];
}

/**
 * `sample_dpm_fast`: `n` denoiser calls (n = the steps walked) over `m = ⌊n/3⌋ + 1` equal steps in t from
 * σ_max to σ_min, third order but the last one or two; after every step ancestral noise (drawn at each step,
 * also where it adds nothing).
 */
export const sampleDpmFast: Sample = async (model, start, sigmas, noise, { sigmaMin, sigmaMax }) => {
  const tStart = tOf(sigmaMax);
  const tEnd = tOf(sigmaMin);
  const orders = dpmFastOrders(sigmas.length - 1);
  const ts = linspaceF32(tStart, tEnd, orders.length + 1);
  let x = start;
  for (const [i, order] of orders.entries()) {
    const cache: EpsCache = new Map();
    const t = ts[i] ?? NaN;
    const { tDown, up } = ancestralTarget(t, ts[i + 1] ?? NaN, tEnd);
    await eps(model, cache, 'eps', x, t);
    if (order === 1) x = await solver1Step(model, x, t, tDown, cache);
    else if (order === 2) x = await solver2Step(model, x, t, tDown, 1 / 2, cache);
    else x = await solver3Step(model, x, t, tDown, cache);
    x = addNoise(x, up, noise);
  }
  return x;
};

/**
 * k-diffusion's `PIDStepSizeController` as DPM adaptive sets it up (pcoeff 0, icoeff 1, dcoeff 0, order 1.5 since
 * eta ≠ 0, accept_safety 0.81), in float64 like its Python floats. With pcoeff = dcoeff = 0 only the integral
 * term is left: the factor depends on the last error alone.
 */
class StepSizeController {
  /** The step in t it proposes next (`h_init` 0.05 at first). */
  h = 0.05;

  /** Scales `h` by the error of the step just tried; whether to accept that step. */
  proposeStep(error: number): boolean {
    const factor = 1 + Math.atan((1 / (error + 1e-8)) ** (1 / 1.5) - 1);
    this.h *= factor;
    return factor >= 0.81;
  }
}

/** `torch.linalg.norm((low − high) / max(atol, rtol·max(|low|, |previous|))) / √numel`, DPM adaptive's error. */
function stepError(low: Float32Array, high: Float32Array, previous: Float32Array): number {
  const atol = f32(0.0078);
  const rtol = f32(0.05);
  let sum = 0;
  for (let i = 0; i < low.length; i++) {
    const delta = Math.max(atol, f32(rtol * Math.max(Math.abs(low[i] ?? 0), Math.abs(previous[i] ?? 0))));
    sum += f32(f32((low[i] ?? 0) - (high[i] ?? 0)) / delta) ** 2;
  }
  return f32(f32(Math.sqrt(sum)) / f32(Math.sqrt(low.length)));
}

/**
 * `sample_dpm_adaptive` with A1111's arguments (order 3, rtol 0.05, atol 0.0078, h_init 0.05, eta 1): each
 * attempt makes three denoiser calls and compares a second- and a third-order step; an accepted step takes the
 * third-order result plus ancestral noise (one draw per accepted step), a rejected one is tried again shorter.
 * The error is taken over the whole batch, as k-diffusion does.
 */
export const sampleDpmAdaptive: Sample = async (model, start, _sigmas, noise, { sigmaMin, sigmaMax }) => {
  const tEnd = tOf(sigmaMin);
  const pid = new StepSizeController();
  let s = tOf(sigmaMax);
  let x = start;
  let previous = start;
  while (s < f32(tEnd - 1e-5)) {
    const cache: EpsCache = new Map();
    const t = Math.min(tEnd, f32(s + pid.h));
    const { tDown, up } = ancestralTarget(s, t, tEnd);
    await eps(model, cache, 'eps', x, s);
    const low = await solver2Step(model, x, s, tDown, 1 / 3, cache);
    const high = await solver3Step(model, x, s, tDown, cache);
    if (pid.proposeStep(stepError(low, high, previous))) {
      previous = low;
      x = addNoise(high, up, noise);
      s = t;
    }
  }
  return x;
};
