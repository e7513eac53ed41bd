// k-diffusion's SDE samplers (k_diffusion/sampling.py at A1111's pin ab527a9) as A1111 runs them: eta 1
// (`eta_ancestral`), s_noise 1, and the Brownian noise of `BrownianTreeNoiseSampler` seeded per picture
// (brownian-tree.ts) rather than the pictures' generators. Scalars are 0-d float32 tensors in torch, so scalar and
// tensor arithmetic both round to float32.
import { ancestralSplit } from '../schedulers/sigmas.js';
import { addScaled, derivative, type Sample } from './k-steps.js';

const f32 = Math.fround;

const steps = (sigmas: Float64Array): number => sigmas.length - 1;
const level = (sigmas: Float64Array, i: number): number => sigmas[i] ?? NaN;
const tOf = (sigma: number): number => f32(-f32(Math.log(sigma)));
const sigmaOf = (t: number): number => f32(Math.exp(-t));

/** `a·x − b·d` (new array). */
const combine = (a: number, x: Float32Array, b: number, d: Float32Array): Float32Array =>
  x.map((v, i) => f32(f32(a * v) - f32(b * (d[i] ?? 0))));

/** `x + noise · scale` (new array). */
const plusNoise = (x: Float32Array, noise: Float32Array, scale: number): Float32Array => x.map((v, i) => f32(v + f32((noise[i] ?? 0) * scale)));

/**
 * `sample_dpmpp_sde` (r = 1/2): a DPM-Solver++ step to the midpoint in log σ with its own noise, a model call
 * there, then the step to σ_next with noise again; Euler where σ_next is 0. Two calls per step but the last.
 */
export const sampleDpmppSde: Sample = async (model, start, sigmas, _noise, { brownian }) => {
  let x = start;
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const next = level(sigmas, i + 1);
    const denoised = await model(x, sigma);
    if (next === 0) {
      addScaled(x, derivative(x, denoised, sigma), f32(next - sigma));
      continue;
    }
    const t = tOf(sigma);
    const h = f32(tOf(next) - t);
    const s = f32(t + f32(h * 0.5));
    // Step 1, to the midpoint s.
    const first = ancestralSplit(sigmaOf(t), sigmaOf(s));
    const sDown = tOf(first.down);
    let x2 = combine(f32(sigmaOf(sDown) / sigmaOf(t)), x, f32(Math.expm1(f32(t - sDown))), denoised);
    x2 = plusNoise(x2, brownian(sigmaOf(t), sigmaOf(s)), first.up);
    const denoised2 = await model(x2, sigmaOf(s));
    // Step 2, to σ_next, with denoised_d = (1 − fac)·denoised + fac·denoised_2 (fac = 1).
    const second = ancestralSplit(sigmaOf(t), sigmaOf(tOf(next)));
    const nextDown = tOf(second.down);
    const denoisedD = denoised.map((v, k) => f32(f32(0 * v) + (denoised2[k] ?? 0)));
    x = combine(f32(sigmaOf(nextDown) / sigmaOf(t)), x, f32(Math.expm1(f32(t - nextDown))), denoisedD);
    x = plusNoise(x, brownian(sigmaOf(t), sigmaOf(tOf(next))), second.up);
  }
  return x;
};

/**
 * `sample_dpmpp_2m_sde` (eta 1): the exponential-integrator step with a second-order correction from the previous
 * prediction (`midpoint`, or `heun` for DPM++ 2M SDE Heun), then Brownian noise; the last step returns the
 * prediction itself.
 */
export function dpmpp2mSde(solver: 'midpoint' | 'heun'): Sample {
  return async (model, start, sigmas, _noise, { brownian }) => {
    let x = start;
    let previous: Float32Array | undefined;
    let hLast = NaN;
    for (let i = 0; i < steps(sigmas); i++) {
      const sigma = level(sigmas, i);
      const next = level(sigmas, i + 1);
      const denoised = await model(x, sigma);
      if (next === 0) {
        x = denoised;
        previous = denoised;
        continue;
      }
      const h = f32(f32(-f32(Math.log(next))) - f32(-f32(Math.log(sigma))));
      const etaH = h; // eta 1
      const decay = f32(f32(f32(next / sigma) * f32(Math.exp(-etaH))));
      const phi = f32(-f32(Math.expm1(f32(-h - etaH))));
      x = x.map((v, k) => f32(f32(decay * v) + f32(phi * (denoised[k] ?? 0))));
      if (previous !== undefined) {
        const r = f32(hLast / h);
        const last = previous;
        const factor =
          solver === 'heun' ? f32(f32(f32(phi / f32(-h - etaH)) + 1) * f32(1 / r)) : f32(f32(0.5 * phi) * f32(1 / r));
        x = x.map((v, k) => f32(v + f32(factor * f32((denoised[k] ?? 0) - (last[k] ?? 0)))));
      }
      const noiseScale = f32(Math.sqrt(f32(-f32(Math.expm1(f32(-2 * etaH))))));
      const noise = brownian(sigma, next);
      x = x.map((v, k) => f32(v + f32(f32((noise[k] ?? 0) * f32(next)) * noiseScale)));
      previous = denoised;
      hLast = h;
    }
    return x;
  };
}

/**
 * `sample_dpmpp_3m_sde` (eta 1): the exponential-integrator step with corrections from the two previous
 * predictions, then Brownian noise; the last step returns the prediction itself.
 */
export const sampleDpmpp3mSde: Sample = async (model, start, sigmas, _noise, { brownian }) => {
  let x = start;
  let denoised1: Float32Array | undefined;
  let denoised2: Float32Array | undefined;
  let h1 = NaN;
  let h2 = NaN;
  for (let i = 0; i < steps(sigmas); i++) {
    const sigma = level(sigmas, i);
    const next = level(sigmas, i + 1);
    const denoised = await model(x, sigma);
    let h = NaN;
    if (next === 0) {
      x = denoised;
    } else {
      h = f32(f32(-f32(Math.log(next))) - f32(-f32(Math.log(sigma))));
      const hEta = f32(h * 2); // eta + 1
      const decay = f32(Math.exp(-hEta));
      const phi1 = f32(-f32(Math.expm1(-hEta)));
      x = x.map((v, k) => f32(f32(decay * v) + f32(phi1 * (denoised[k] ?? 0))));
      const phi2 = f32(f32(f32(Math.expm1(-hEta)) / hEta) + 1);
      if (denoised2 && denoised1) {
        const [d1Prev, d2Prev] = [denoised1, denoised2];
        const r0 = f32(h1 / h);
        const r1 = f32(h2 / h);
        const phi3 = f32(f32(phi2 / hEta) - 0.5);
        const rSum = f32(r0 + r1);
        x = x.map((v, k) => {
          const d10 = f32(f32((denoised[k] ?? 0) - (d1Prev[k] ?? 0)) / r0);
          const d11 = f32(f32((d1Prev[k] ?? 0) - (d2Prev[k] ?? 0)) / r1);
          const d1 = f32(d10 + f32(f32(f32(d10 - d11) * r0) / rSum));
          const d2 = f32(f32(d10 - d11) / rSum);
          return f32(f32(v + f32(phi2 * d1)) - f32(phi3 * d2));
        });
      } else if (denoised1) {
        const d1Prev = denoised1;
        const r = f32(h1 / h);
        x = x.map((v, k) => f32(v + f32(phi2 * f32(f32((denoised[k] ?? 0) - (d1Prev[k] ?? 0)) / r))));
      }
      const noiseScale = f32(Math.sqrt(f32(-f32(Math.expm1(f32(f32(-2 * h) * 1))))));
      const noise = brownian(sigma, next);
      x = x.map((v, k) => f32(v + f32(f32((noise[k] ?? 0) * f32(next)) * noiseScale)));
    }
    [denoised1, denoised2] = [denoised, denoised1];
    [h1, h2] = [h, h1];
  }
  return x;
};
