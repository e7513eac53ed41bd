/**
 * Noise-schedule primitives shared by the samplers, each reproducing the torch / numpy expression diffusers
 * uses (noted per function), because float32 and float64 paths round differently and the references are exact.
 */

const f32 = Math.fround;

/**
 * `torch.linspace(start, end, steps, dtype=float32)` on the CPU: a float32 step, the first half counted up
 * from `start` and the second half down from `end`. Torch's kernel is compiled with FMA contraction, so
 * `start + step·i` is rounded once (the float64 product of a float32 and an integer below 2^24 is exact).
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? s + step * i : e - step * (steps - i - 1);
  }
  return out;
}

/** `np.linspace(start, end, steps)` in float64 (numpy computes `i·step + start`, then pins the last value to `end`). */
export function linspaceF64(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (steps - 1);
  for (let i = 0; i < steps; i++) out[i] = start + i * step;
  out[steps - 1] = end;
  return out;
}

/** The beta schedules diffusers supports for SD models, as float32 like diffusers' `self.betas`. */
export function makeBetas(
  schedule: string,
  betaStart: number,
  betaEnd: number,
  numTrainTimesteps: number,
): Float32Array {
  switch (schedule) {
    case 'linear':
      return linspaceF32(betaStart, betaEnd, numTrainTimesteps);
    case 'scaled_linear': {
      const roots = linspaceF32(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps);
      return roots.map((r) => f32(r * r));
    }
    case 'squaredcos_cap_v2':
      return betasForAlphaBar(numTrainTimesteps);
    default:
      throw new Error(
        `Expected \`beta_schedule\` to be one of linear, scaled_linear, squaredcos_cap_v2, got ${JSON.stringify(schedule)}`,
      );
  }
}

/** diffusers' `betas_for_alpha_bar` with the cosine transform (Glide), max beta 0.999, in float64, then float32. */
function betasForAlphaBar(numTrainTimesteps: number): Float32Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI * 0.5) ** 2;
  const out = new Float32Array(numTrainTimesteps);
  for (let i = 0; i < numTrainTimesteps; i++) {
    const t1 = i / numTrainTimesteps;
    const t2 = (i + 1) / numTrainTimesteps;
    out[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
  }
  return out;
}

/**
 * `torch.cumprod(1 - betas, dim=0)` on the CPU: torch accumulates float32 products in float64 and rounds
 * each output to float32.
 */
export function alphasCumprod(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - (betas[i] ?? 0));
    out[i] = acc;
  }
  return out;
}

/**
 * ᾱ rescaled to zero terminal SNR ("Common Diffusion Noise Schedules and Sample Steps are Flawed", algorithm 1), in
 * float32 like the torch code of diffusers and A1111: √ᾱ shifted so that the last step's is 0 and scaled so that
 * the first keeps its value, squared.
 */
export function zeroTerminalSnrAlphasBar(alphasCumprod: Float32Array): Float32Array {
  const roots = alphasCumprod.map((a) => f32(Math.sqrt(a)));
  const first = roots[0] ?? NaN;
  const last = roots[roots.length - 1] ?? NaN;
  const scale = f32(first / f32(first - last));
  return roots.map((r) => {
    const shifted = f32(f32(r - last) * scale);
    return f32(shifted * shifted);
  });
}

/**
 * diffusers' `rescale_zero_terminal_snr(betas)`: {@link zeroTerminalSnrAlphasBar} turned back into betas (the last
 * one 1: zero signal at the last training step).
 */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const alphasBar = zeroTerminalSnrAlphasBar(alphasCumprod(betas));
  return alphasBar.map((a, i) => f32(1 - (i === 0 ? a : f32(a / (alphasBar[i - 1] ?? NaN)))));
}

/** Training noise levels `((1 − ᾱ_t) / ᾱ_t) ** 0.5`, ascending in `t`, in float32 like diffusers' torch expression. */
export function trainingSigmas(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** `np.concatenate([sigmas, [last]]).astype(np.float32)`: the inference sigmas and the final one, as float32 values. */
export function withFinalSigma(sigmas: Float64Array, last: number): Float64Array {
  const out = new Float64Array(sigmas.length + 1);
  for (let i = 0; i < sigmas.length; i++) out[i] = f32(sigmas[i] ?? NaN);
  out[sigmas.length] = f32(last);
  return out;
}

/** `np.log` of a float32 array: the result stays float32. */
export function logF32(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values, (v) => f32(Math.log(v)));
}

/** `np.interp(x, np.arange(fp.length), fp)` in float64 (numpy returns `fp[j]` exactly on a knot). */
export function interpAtIndex(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0] ?? NaN;
  if (x >= last) return fp[last] ?? NaN;
  const j = Math.floor(x);
  const low = fp[j] ?? NaN;
  if (j === x) return low;
  const slope = (fp[j + 1] ?? NaN) - low;
  return slope * (x - j) + low;
}

/** Karras et al. (2022) noise levels, diffusers' `_convert_to_karras` (numpy float64, rho = 7). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): Float64Array {
  const rho = 7;
  const ramp = linspaceF64(0, 1, steps);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * Fractional training timestep of a noise level, diffusers' `_sigma_to_t`: linear interpolation in log-sigma
 * space over the training log-sigmas (float32 values, ascending by timestep). `sigma` is a float64; numpy
 * subtracts the two neighbouring float32 log-sigmas in float32, the rest in float64.
 */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const lowIdx = lowerLogSigmaIndex(logSigma, logSigmas);
  const low = logSigmas[lowIdx] ?? NaN;
  const high = logSigmas[lowIdx + 1] ?? NaN;
  const w = Math.min(Math.max((low - logSigma) / f32(low - high), 0), 1);
  return (1 - w) * lowIdx + w * (lowIdx + 1);
}

/**
 * `_sigma_to_t` when diffusers hands it torch float32 tensors (KDPM2's interpolated timesteps): every
 * operation rounds to float32.
 */
export function sigmaToTF32(sigma: number, logSigmas: Float64Array): number {
  const logSigma = f32(Math.log(Math.max(f32(sigma), f32(1e-10))));
  const lowIdx = lowerLogSigmaIndex(logSigma, logSigmas);
  const low = logSigmas[lowIdx] ?? NaN;
  const high = logSigmas[lowIdx + 1] ?? NaN;
  const w = Math.min(Math.max(f32(f32(low - logSigma) / f32(low - high)), 0), 1);
  return f32(f32(f32(1 - w) * lowIdx) + f32(w * (lowIdx + 1)));
}

/** `cumsum(log_sigma − log_sigmas >= 0).argmax()` clipped to `len − 2`: the last index at or below `logSigma`. */
function lowerLogSigmaIndex(logSigma: number, logSigmas: Float64Array): number {
  let lowIdx = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - (logSigmas[i] ?? 0) >= 0) lowIdx = i;
  return Math.min(lowIdx, logSigmas.length - 2);
}
